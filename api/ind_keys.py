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


def find_desk(key: str) -> Location | None:
    """The active location answering to `key` (IND desk key or short code), or None: one query."""
    if not key or len(key) > 64 or "\x00" in key:
        return None
    if not sql.plain_sql():
        return Location.objects.filter(Q(ind_desk_key=key) | Q(short_code=key), is_active=True).first()
    # Plain SQL, as availability's queries (bookings/availability_sql.py): a slot list that is computed asks
    # for its desk and its offer, and building those querysets cost more than running them.
    query = (
        f"SELECT {sql.columns(Location)} FROM {sql.sql_name(Location)}"  # noqa: S608 - names from the models
        f" WHERE ({sql.sql_name(Location, 'ind_desk_key')} = %s OR {sql.sql_name(Location, 'short_code')} = %s)"
        f" AND {sql.sql_name(Location, 'is_active')}"
        f" ORDER BY {sql.sql_name(Location, 'name')}, {sql.sql_name(Location, 'id')} LIMIT 1"
    )
    found = sql.instances(Location, sql.fetch(query, [key, key]))
    return found[0] if found else None


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
    return find_offer_and_version(location=location, key=key)[0]


def find_offer_and_version(*, location: Location, key: str) -> tuple[LocationService | None, object]:
    """`find_offer`, and the location's configuration version in the same query (availability_sql.offer_and_version:
    VERSION_NOT_READ where there is no plain SQL, or no offer)."""
    if not key or len(key) > 40 or "\x00" in key:
        return None, sql.VERSION_NOT_READ
    version: object = sql.VERSION_NOT_READ
    if not sql.plain_sql():
        offers = list(
            LocationService.objects.select_related("service")
            .filter(location=location, service__is_active=True)
            .filter(Q(service__ind_product_key=key) | Q(service__ind_product_key="", service__code__iexact=key))
        )
    else:
        product = sql.sql_name(Service, "ind_product_key")
        query = (
            f"SELECT {sql.columns(LocationService)}, {sql.columns(Service)}, {sql.version_column()}"  # noqa: S608
            f" FROM {sql.sql_name(LocationService)} INNER JOIN {sql.sql_name(Service)}"
            f" ON ({sql.sql_name(LocationService, 'service')} = {sql.sql_name(Service, 'id')})"
            f" WHERE {sql.sql_name(LocationService, 'location')} = %s AND {sql.sql_name(Service, 'is_active')}"
            f" AND ({product} = %s OR ({product} = %s AND UPPER({sql.sql_name(Service, 'code')}) = UPPER(%s)))"
            f" ORDER BY {sql.sql_name(Service, 'display_order')}, {sql.sql_name(Service, 'code')}"
        )
        rows = sql.fetch(query, [location.pk, location.pk, key, "", key])
        offers = sql.instances(LocationService, rows)
        for offer, service in zip(
            offers, sql.instances(Service, rows, start=len(LocationService._meta.concrete_fields)), strict=True
        ):
            offer.service = service
        if rows:
            version = rows[0][-1]
    found = next((o for o in offers if o.service.ind_product_key == key), offers[0] if offers else None)
    return found, version


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
