"""Versions of a location's free capacity in the shared cache, so cached slot answers can be dropped.

Answers about free times (the APIs' slot lists) are cached briefly under a key that holds a version
token of the location, never invalidated by deleting keys: a write that changes free capacity bumps
the version after its transaction commits, and the next read computes afresh under the new token.

Two tokens:
- `version_token(location_id=…)` — bumped by every change at the location (any day). For answers
  that span many days, such as the IND slot list (the whole booking horizon).
- `version_token(location_id=…, day=…)` — bumped by changes on that local day, and by changes that
  concern the whole location (a closure, a counter block). For answers about one day.

A missing version (never set, or evicted) starts at the current time in nanoseconds, so it never
repeats an earlier value and no stale answer can come back under it.

Shared answers (`shared`, and the public pages' `free_days` and `free_slots_on`) are stored as
(version, filled at, value): fresh while of the current version and younger than
EXPATDESK_SLOT_CACHE_SECONDS, computed by one process at a time on a miss (single-flight: the others
serve the previous value or wait for the new one briefly). Only what is the same for every visitor is
shared this way; a page with a hold or personal data is never cached.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from bookings import availability, refusals
from bookings.availability import Slot
from bookings.models import Location
from bookings.visits import PartRequest, VisitSlot, load_planner
from services.actions import CATALOGUE_VERSION_KEY
from services.models import Service

T = TypeVar("T")

_PREFIX = "availability-version"

logger = logging.getLogger(__name__)


def _any_key(location_id: int) -> str:
    return f"{_PREFIX}:{location_id}:any"


def _all_key(location_id: int) -> str:
    return f"{_PREFIX}:{location_id}:all"


def _day_key(location_id: int, day: date) -> str:
    return f"{_PREFIX}:{location_id}:{day.isoformat()}"


def _read(keys: list[str]) -> list[int]:
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, time.time_ns(), timeout=None)
    missing = [key for key in keys if key not in found]
    if missing:
        found.update(cache.get_many(missing))
    return [int(found.get(key, 0)) for key in keys]


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # not in the cache (never read, or evicted): any fresh value is a new version
        cache.set(key, time.time_ns(), timeout=None)


def version_keys(*, location_id: int, day: date | None = None) -> list[str]:
    """The cache keys `version_token` reads, so a caller can read them with its own keys in one get_many.

    The `any` version is always among them (so created by `version_token`): while it is missing,
    nothing is cached to invalidate, and `availability_changed` skips the bump. The service catalogue's
    version (services/actions.py) is always the last: a change of a service's rules drops every answer.
    """
    if day is None:
        return [_any_key(location_id), CATALOGUE_VERSION_KEY]
    return [_any_key(location_id), _all_key(location_id), _day_key(location_id, day), CATALOGUE_VERSION_KEY]


def token_from(values: list[int]) -> str:
    """The token of the values read under `version_keys` (same order: two of them for any day, four for one)."""
    if len(values) == 2:
        return f"{values[0]}.{values[1]}"
    return f"{values[1]}.{values[2]}.{values[3]}"


def version_token(*, location_id: int, day: date | None = None) -> str:
    """The current version of the location's free capacity (on `day`, or on any day)."""
    return token_from(_read(version_keys(location_id=location_id, day=day)))


def days_around(moment: datetime) -> list[date]:
    """The local days `moment` can fall on in any European time zone (UTC-1 to UTC+4), without
    loading the location: its UTC date and the days either side. Bumping a day too many is harmless."""
    utc_day = moment.astimezone(UTC).date()
    return [utc_day - timedelta(days=1), utc_day, utc_day + timedelta(days=1)]


def bump_availability(*, location_id: int, days: Iterable[date] | None) -> None:
    """Mark the location's free capacity changed on `days` (None: on every day). Call after a commit."""
    for key in _bumped_keys(location_id=location_id, days=days):
        _bump(key)


def availability_changed(*, location_id: int, days: Iterable[date] | None, takes_only: bool = False) -> None:
    """Bump the versions once the current transaction commits (right away outside one): no cache round trip
    while the transaction holds its locks, and none for one that rolls back.

    After the commit, skipped while the location has no version in the cache: then no answer is cached
    under one. Looking after the commit, not before it, is what makes the skip safe: a reader makes the
    version before it reads the claims (`version_token`), so either it made it before we looked (we bump
    it) or it reads the claims after our commit (its answer is current).

    Robust: a cache that is down must not fail a booking that has committed; its answers then live
    at most EXPATDESK_SLOT_CACHE_SECONDS.
    """
    days = None if days is None else list(days)
    if not takes_only:  # a change that only takes free time (a hold) frees nothing: see time_may_be_freed
        time_may_be_freed(location_id)
    transaction.on_commit(lambda: _bump_if_read(location_id=location_id, days=days), robust=True)


def time_may_be_freed(location_id: int) -> None:
    """What this process remembered as taken at the location may be freed by the current transaction: forgotten
    now, for the rest of the transaction, and after its commit, for what its other requests read meanwhile
    (bookings/refusals.py). availability_changed calls it, unless the change only takes time; an action that
    announced that (a booking of a hold) and then lets time go after all calls it itself."""
    refusals.forget(location_id)
    transaction.on_commit(lambda: refusals.forget(location_id), robust=True)


def _bump_if_read(*, location_id: int, days: list[date] | None) -> None:
    keys = _bumped_keys(location_id=location_id, days=days)
    bump_versions = getattr(cache, "bump_versions", None)  # the Redis cache (expatdesk/cache_backend.py)
    if bump_versions is not None:  # the check and the bumps in one round trip, atomically
        bump_versions(keys, fresh=time.time_ns())
        return
    if cache.get(_any_key(location_id)) is None:
        return  # no answer about this location is cached under a version: nothing to invalidate
    for key in keys:
        _bump(key)


def _bumped_keys(*, location_id: int, days: Iterable[date] | None) -> list[str]:
    """The versions a change on `days` (None: every day) bumps, the location's `any` version first."""
    if days is None:
        return [_any_key(location_id), _all_key(location_id)]
    return [_any_key(location_id), *(_day_key(location_id, day) for day in sorted(set(days)))]


# ---- shared answers: one computation per version, the others wait or serve the previous one -------------

# How long an answer is kept after it stops being fresh, to be served while another process computes.
STALE_SECONDS = 120
# The lock of the process that computes an answer; it lapses by itself if that process dies.
LOCK_SECONDS = 10
# How long a process waits for another one's computation when it has no previous answer to serve.
WAIT_SECONDS = 2.0
_WAIT_STEP = 0.02


def fresh_seconds() -> int:
    return settings.EXPATDESK_SLOT_CACHE_SECONDS


def fresh_value(stored: object, token: str) -> object | None:
    """The value of a stored (token, filled at, value) while it is of `token` and fresh, else None."""
    if not isinstance(stored, tuple) or len(stored) != 3:
        return None
    stored_token, filled_at, value = stored
    if stored_token != token or time.time() - filled_at >= fresh_seconds():
        return None
    return value


def stale_value(stored: object) -> object | None:
    if not isinstance(stored, tuple) or len(stored) != 3:
        return None
    return stored[2]


def compute_once(key: str, *, token: str, stored: object, compute: Callable[[], T]) -> T:
    """Compute the value of `key` under version `token` in one process at a time (single-flight).

    The process that takes the lock computes and stores; the others serve the previous value when
    there is one (stale by at most the change that bumped the version), or wait up to WAIT_SECONDS for
    the new one and compute themselves only if it does not come.
    """
    lock = f"{key}:computing"
    try:
        computing_here = cache.add(lock, 1, timeout=LOCK_SECONDS)
    except Exception:
        computing_here = True
    if not computing_here:
        previous = stale_value(stored)
        if previous is not None:
            return previous  # type: ignore[return-value]
        waited = 0.0
        while waited < WAIT_SECONDS:
            time.sleep(_WAIT_STEP)
            waited += _WAIT_STEP
            with suppress(Exception):
                found = fresh_value(cache.get(key), token)
                if found is not None:
                    return found  # type: ignore[return-value]
    try:
        value = compute()
        with suppress(Exception):
            cache.set(key, (token, time.time(), value), timeout=fresh_seconds() + STALE_SECONDS)
        return value
    finally:
        if computing_here:
            with suppress(Exception):
                cache.delete(lock)


def shared(key: str, *, location_id: int, day: date | None, compute: Callable[[], T]) -> T:
    """The value of `key`, fresh under the location's version (on `day`, or on any day): from the cache,
    or computed once for everyone. Computed here whenever the cache is down, and always while
    EXPATDESK_SLOT_CACHE_SECONDS is 0 (nothing is shared)."""
    if fresh_seconds() <= 0:
        return compute()
    try:
        token = version_token(location_id=location_id, day=day)
        stored = cache.get(key)
    except Exception:
        logger.warning("Cache unavailable: %s computed without it.", key.split(":")[0])
        return compute()
    found = fresh_value(stored, token)
    if found is not None:
        return found  # type: ignore[return-value]
    return compute_once(key, token=token, stored=stored, compute=compute)


# ---- shared values found from a request alone: an alias names the location, the value's key and its day ---

# How long the alias of a request (its raw address and query → location, value key, day) is kept. A stale
# alias only points to a value whose version still has to be current, so it never serves a changed answer.
ALIAS_SECONDS = 300


def aliased(alias_key: str) -> object | None:
    """The fresh value `alias_key` points to, from the cache alone (no database): on Redis in one round trip (the
    alias names the location's version keys and the value's key: expatdesk/cache_backend.py `get_through`),
    elsewhere in two (the alias, then one `get_many`). None when there is none (the caller computes), when a
    version was evicted, and while nothing is shared."""
    if fresh_seconds() <= 0:
        return None
    get_through = getattr(cache, "get_through", None)
    try:
        if get_through is not None:
            found = get_through(alias_key)
            if found is None:
                return None
            *versions, stored = found
        else:
            alias = cache.get(alias_key)
            if not isinstance(alias, tuple) or len(alias) != 3:
                return None
            location_id, key, day = alias
            keys = version_keys(location_id=location_id, day=day)
            values = cache.get_many([*keys, key])
            versions, stored = [values.get(version) for version in keys], values.get(key)
    except Exception:  # the shared cache is down: the caller computes
        logger.warning("Cache unavailable: %s looked up without it.", alias_key.split(":")[0])
        return None
    if any(version is None for version in versions):
        return None  # a version was evicted: compute under a new one
    return fresh_value(stored, token_from([int(version) for version in versions]))


def shared_under_alias(alias_key: str, key: str, *, location_id: int, day: date | None, compute: Callable[[], T]) -> T:
    """`shared(key, …)`, and the alias that lets the next request find it with `aliased(alias_key)`."""
    value = shared(key, location_id=location_id, day=day, compute=compute)
    if fresh_seconds() > 0:
        with suppress(Exception):
            set_alias = getattr(cache, "set_alias", None)
            if set_alias is not None:
                set_alias(alias_key, [*version_keys(location_id=location_id, day=day), key], timeout=ALIAS_SECONDS)
            else:
                cache.set(alias_key, (location_id, key, day), timeout=ALIAS_SECONDS)
    return value


# ---- the public pages' shared reads (the same for every visitor: no hold, no personal data) ---------------


def free_days(
    *,
    location: Location,
    service: Service,
    persons: int,
    start_date: date,
    end_date: date,
    now: datetime,
    extra_units: int = 0,
) -> list[date]:
    """availability.free_days, shared between visitors for EXPATDESK_SLOT_CACHE_SECONDS under the version."""
    key = f"page-free-days:{location.pk}:{service.pk}:{persons}:{extra_units}:{start_date}:{end_date}"
    return shared(
        key,
        location_id=location.pk,
        day=None,
        compute=lambda: availability.free_days(
            location=location,
            service=service,
            persons=persons,
            start_date=start_date,
            end_date=end_date,
            now=now,
            extra_units=extra_units,
        ),
    )


def free_slots_on(
    *, location: Location, service: Service, persons: int, day: date, now: datetime, extra_units: int = 0
) -> list[Slot]:
    """The free slots of one day, shared between visitors for EXPATDESK_SLOT_CACHE_SECONDS under its version."""
    key = f"page-free-slots:{location.pk}:{service.pk}:{persons}:{extra_units}:{day}"
    return shared(
        key,
        location_id=location.pk,
        day=day,
        compute=lambda: availability.free_slots(
            location=location,
            service=service,
            persons=persons,
            start_date=day,
            end_date=day,
            now=now,
            extra_units=extra_units,
        ).get(day, []),
    )


def parts_key(parts: Sequence[PartRequest]) -> str:
    """The parts of a visit in a cache key: each service's id and its persons, in the desk's order."""
    return "|".join(f"{part.service.pk}-{'.'.join(str(n) for n in part.persons)}" for part in parts)


def visit_free_days(
    *, location: Location, parts: Sequence[PartRequest], start_date: date, end_date: date, now: datetime
) -> list[date]:
    """The days with a free arrival for the visit (bookings/visits.py), shared between visitors for
    EXPATDESK_SLOT_CACHE_SECONDS under the location's version; the key holds the parts and the location's
    maximum wait between parts (a change of the services' rules bumps the catalogue's version)."""
    key = f"page-visit-free-days:{location.pk}:{parts_key(parts)}:{location.max_wait_minutes}:{start_date}:{end_date}"
    return shared(
        key,
        location_id=location.pk,
        day=None,
        compute=lambda: load_planner(
            location=location,
            parts=parts,
            start_date=start_date,
            end_date=end_date,
            now=now,
        ).free_days(),
    )


def visit_free_arrivals_on(
    *, location: Location, parts: Sequence[PartRequest], day: date, now: datetime
) -> list[VisitSlot]:
    """The visit's free arrival times on one day, shared between visitors under the day's version."""
    key = f"page-visit-free-arrivals:{location.pk}:{parts_key(parts)}:{location.max_wait_minutes}:{day}"
    return shared(
        key,
        location_id=location.pk,
        day=day,
        compute=lambda: load_planner(
            location=location,
            parts=parts,
            start_date=day,
            end_date=day,
            now=now,
        ).free_arrivals_on(day),
    )


def next_free_days(*, locations: list[Location], offers: dict[int, list], now: datetime) -> dict[int, date | None]:
    """The start page's next free day of each location (the first day any service it offers has a free
    time for one person), shared between visitors for EXPATDESK_SLOT_CACHE_SECONDS under each location's
    version: one read of the cache for all locations, and the stale ones computed together
    (availability.first_free_days_at: a constant number of queries whatever their number)."""
    if not locations:
        return {}

    def compute(wanted: list[Location]) -> dict[int, date | None]:
        services = {offer.service.pk: offer.service for pk in offers for offer in offers[pk]}
        found = availability.first_free_days_at(locations=wanted, services=list(services.values()), now=now)
        return {
            location.pk: min(
                (
                    day
                    for service_id, day in found[location.pk].items()
                    if day is not None and any(offer.service_id == service_id for offer in offers.get(location.pk, []))
                ),
                default=None,
            )
            for location in wanted
        }

    if fresh_seconds() <= 0:
        return compute(locations)
    keys = {location.pk: f"start-next-free-day:{location.pk}" for location in locations}
    try:
        tokens = dict(zip(keys, _read([_any_key(pk) for pk in keys]), strict=True))
        stored = cache.get_many(list(keys.values()))
    except Exception:
        logger.warning("Cache unavailable: the next free days computed without it.")
        return compute(locations)
    result: dict[int, date | None] = {}
    stale: list[Location] = []
    for location in locations:
        value = fresh_value(stored.get(keys[location.pk]), str(tokens[location.pk]))
        if value is None:
            stale.append(location)
        else:
            result[location.pk] = value[0]
    if stale:
        computed = compute(stale)
        result.update(computed)
        filled = time.time()
        with suppress(Exception):
            cache.set_many(
                {keys[pk]: (str(tokens[pk]), filled, (day,)) for pk, day in computed.items()},
                timeout=fresh_seconds() + STALE_SECONDS,
            )
    return result
