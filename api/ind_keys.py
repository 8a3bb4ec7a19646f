"""Keys of the IND-compatible API: desks, products and slots.

Desk keys: a location answers to its IND desk key (`Location.ind_desk_key`, e.g. the Maastricht
expat-centre desk's `6c5280823686521552efe85094e607cf`) and to its short code (`MAA`). The desk list
names a desk by its IND key when it has one, else by its short code.

Product keys: a service with an IND product key (`BIO`, `DOC`, `VAA`) answers to it. A service the
IND's system lacks answers to its code in capitals (`registration-eu` → `REGISTRATION-EU`,
`immigration-advice` → `IMMIGRATION-ADVICE`); the IND key wins if both could match.

Slot keys: opaque strings carrying the location, service, start and persons (a hold's key carries
the held appointment too), in hexadecimal, followed by a keyed hash of them: the first 96 bits of an
HMAC-SHA256 with a key derived once from the SECRET_KEY. One HMAC a key (about a microsecond, where a
Signer took some twenty), so a list of 560 slots is signed in well under a millisecond; a slot list signs
through slot_keys(), which keeps the HMAC's two padded-key hash states and copies them (0.4 µs a key). A key that was
altered or made up fails the check and is refused as malformed; a key cannot name a slot of another desk
without that being noticed. Keys in the older Signer format (given out before this one) are still read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.db.models import Q

from bookings import availability_sql as sql
from bookings.models import Location, LocationService
from services.models import Service

_SALT = "expatdesk.api.ind.slot"
_URLSAFE = bytes.maketrans(b"+/", b"-_")  # base64 → its URL-safe alphabet (what urlsafe_b64encode does)


def desk_key(location: Location) -> str:
    return location.ind_desk_key or location.short_code


def _is_key(key: str, *, longest: int) -> bool:
    return bool(key) and len(key) <= longest and "\x00" not in key


def find_desk(key: str) -> Location | None:
    """The active location answering to `key` (IND desk key or short code), or None: one query."""
    if not _is_key(key, longest=64):
        return None
    if not sql.plain_sql():
        return Location.objects.filter(Q(ind_desk_key=key) | Q(short_code=key), is_active=True).first()
    # Plain SQL, as availability's queries (bookings/availability_sql.py): a slot list that is computed asks
    # for its desk and its offer, and building those querysets cost more than running them.
    found = sql.instances(Location, sql.fetch(_desk_sql(), [key, key]))
    return found[0] if found else None


def _desk_sql() -> str:
    """The first active location by name whose IND desk key or short code is the parameter (given twice)."""
    return (
        f"SELECT {sql.columns(Location)} FROM {sql.sql_name(Location)}"  # noqa: S608 - names from the models
        f" WHERE ({sql.sql_name(Location, 'ind_desk_key')} = %s OR {sql.sql_name(Location, 'short_code')} = %s)"
        f" AND {sql.sql_name(Location, 'is_active')}"
        f" ORDER BY {sql.sql_name(Location, 'name')}, {sql.sql_name(Location, 'id')} LIMIT 1"
    )


def find_desk_and_offer(*, desk_key: str, product_key: str) -> tuple[Location | None, LocationService | None, object]:
    """The active location answering to `desk_key` (IND desk key or short code), its offer (with its service) of
    the active product `product_key`, and its configuration version (for availability's `version`), in one
    query: a computed slot list asks for all three. None for a desk or an offer that is not found; the version
    is availability_sql.VERSION_NOT_READ without plain SQL, or without a desk."""
    if not _is_key(desk_key, longest=64):
        return None, None, sql.VERSION_NOT_READ
    if not sql.plain_sql():
        location = find_desk(desk_key)
        found = None if location is None else find_offer(location=location, key=product_key)
        return location, found, sql.VERSION_NOT_READ
    # The desk (`_desk_sql`) as a subquery named as the table, so that its columns read as the table's; its
    # offers of the product are joined to it.
    query = (
        f"SELECT {sql.columns(Location)}, {sql.columns(LocationService)}, {sql.columns(Service)},"  # noqa: S608
        f" {sql.version_column(of=sql.sql_name(Location, 'id'))}"
        f" FROM ({_desk_sql()}) AS {sql.sql_name(Location)} LEFT JOIN ({_offers_of_product_sql()})"
        f" ON ({sql.sql_name(LocationService, 'location')} = {sql.sql_name(Location, 'id')})"
        f" ORDER BY {sql.sql_name(Service, 'display_order')}, {sql.sql_name(Service, 'code')}"
    )
    key = product_key if _is_key(product_key, longest=40) else None  # None matches no product
    rows = sql.fetch(query, [desk_key, desk_key, key, "", key])
    if not rows:
        return None, None, sql.VERSION_NOT_READ
    location = sql.instances(Location, rows[:1])[0]
    start = len(Location._meta.concrete_fields)
    offers = [offer for offer in sql.instances(LocationService, rows, start=start) if offer.pk is not None]
    services = sql.instances(Service, rows, start=start + len(LocationService._meta.concrete_fields))
    for offer, service in zip(offers, services, strict=False):  # the rows with an offer are the rows with a service
        offer.service = service
    return location, _preferred(offers, product_key), rows[0][-1]


def _offers_of_product_sql() -> str:
    """The offers joined to their services, the active ones a product key matches: its IND key, or the code in
    capitals of a service without one (the parameters: the key, "", the key)."""
    product = sql.sql_name(Service, "ind_product_key")
    return (
        f"{sql.sql_name(LocationService)} INNER JOIN {sql.sql_name(Service)}"
        f" ON ({sql.sql_name(LocationService, 'service')} = {sql.sql_name(Service, 'id')}"
        f" AND {sql.sql_name(Service, 'is_active')}"
        f" AND ({product} = %s OR ({product} = %s AND UPPER({sql.sql_name(Service, 'code')}) = UPPER(%s))))"
    )


def _preferred(offers: list[LocationService], key: str) -> LocationService | None:
    """Of the offers a product key matches, the one whose IND key it is, else the first (by the catalogue)."""
    return next((o for o in offers if o.service.ind_product_key == key), offers[0] if offers else None)


def product_key(service: Service) -> str:
    return service.ind_product_key or service.code.upper()


def find_product(key: str) -> Service | None:
    """The active service answering to product key `key`, or None."""
    if not key or len(key) > 40 or "\x00" in key:
        return None
    services = list(Service.objects.active().filter(Q(ind_product_key=key) | Q(ind_product_key="", code__iexact=key)))
    return next((s for s in services if s.ind_product_key == key), services[0] if services else None)


def find_offer(*, location: Location, key: str) -> LocationService | None:
    """The location's offer (with its service) of the active product `key`, or None: one query."""
    if not _is_key(key, longest=40):
        return None
    if not sql.plain_sql():
        offers = list(
            LocationService.objects.select_related("service")
            .filter(location=location, service__is_active=True)
            .filter(Q(service__ind_product_key=key) | Q(service__ind_product_key="", service__code__iexact=key))
        )
    else:
        query = (
            f"SELECT {sql.columns(LocationService)}, {sql.columns(Service)} FROM {_offers_of_product_sql()}"  # noqa: S608
            f" WHERE {sql.sql_name(LocationService, 'location')} = %s"
            f" ORDER BY {sql.sql_name(Service, 'display_order')}, {sql.sql_name(Service, 'code')}"
        )
        rows = sql.fetch(query, [key, "", key, location.pk])
        offers = sql.instances(LocationService, rows)
        for offer, service in zip(
            offers, sql.instances(Service, rows, start=len(LocationService._meta.concrete_fields)), strict=True
        ):
            offer.service = service
    return _preferred(offers, key)


@dataclass(frozen=True)
class SlotRef:
    """What a slot key says: where, what, when and for how many; `hold_id` for a hold's key."""

    location_id: int
    service_id: int
    start: datetime
    persons: int
    hold_id: int | None = None


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT)


@lru_cache(maxsize=4)
def _mac_key(secret: str) -> bytes:
    return hashlib.sha256(f"{_SALT}:{secret}".encode()).digest()


@lru_cache(maxsize=4)
def _hmac_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 after the HMAC key's inner and outer pads (the key is shorter than the 64-byte block)."""
    padded = key.ljust(64, b"\0")
    return (
        hashlib.sha256(bytes(byte ^ 0x36 for byte in padded)),
        hashlib.sha256(bytes(byte ^ 0x5C for byte in padded)),
    )


def _mac(payload: str) -> str:
    digest = hmac.digest(_mac_key(settings.SECRET_KEY), payload.encode(), "sha256")
    return base64.urlsafe_b64encode(digest[:12]).decode()


def slot_keys(*, location_id: int, service_id: int, persons: int) -> Callable[[int], str]:
    """The keys of many slots of one list: epoch seconds of a start → the key slot_key gives it (the MAC's
    key and the payload's fixed parts worked out once, one HMAC a slot)."""
    inner, outer = _hmac_states(_mac_key(settings.SECRET_KEY))
    head, tail = f"{location_id:x}.{service_id:x}.", f".{persons:x}"

    def key(epoch: int) -> str:
        payload = f"{head}{epoch:x}{tail}"
        # HMAC-SHA256 (RFC 2104) from the padded key's two hash states, copied: what _mac() computes.
        digest = inner.copy()
        digest.update(payload.encode())
        mac = outer.copy()
        mac.update(digest.digest())
        return f"{payload}.{binascii.b2a_base64(mac.digest()[:12], newline=False).translate(_URLSAFE).decode()}"

    return key


def slot_key(ref: SlotRef) -> str:
    parts = [ref.location_id, ref.service_id, int(ref.start.timestamp()), ref.persons]
    if ref.hold_id is not None:
        parts.append(ref.hold_id)
    # No timestamp of its own, so the same slot has the same key (and the answer the same bytes) every time.
    payload = ".".join(f"{part:x}" for part in parts)
    return f"{payload}.{_mac(payload)}"


def _read_compact(key: str) -> list[int] | None:
    payload, _dot, mac = key.rpartition(".")
    if not payload or not hmac.compare_digest(mac, _mac(payload)):
        return None
    try:
        return [int(part, 16) for part in payload.split(".")]
    except ValueError:
        return None


def _read_signed(key: str) -> object:
    try:
        return _signer().unsign_object(key)
    except (signing.BadSignature, ValueError, UnicodeError):
        return None


def read_slot_key(key: str) -> SlotRef | None:
    """The slot a key names, or None when the key is malformed or was not made by us."""
    if not isinstance(key, str) or not key or len(key) > 200 or not key.isascii():
        return None
    payload = _read_signed(key) if ":" in key else _read_compact(key)
    if (
        not isinstance(payload, list)
        or len(payload) not in (4, 5)
        or not all(isinstance(part, int) and not isinstance(part, bool) for part in payload)
    ):
        return None
    try:
        start = datetime.fromtimestamp(payload[2], tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return SlotRef(
        location_id=payload[0],
        service_id=payload[1],
        start=start,
        persons=payload[3],
        hold_id=payload[4] if len(payload) == 5 else None,
    )
