"""Hooks: how the apps above `bookings` hear that counter time became free, without `bookings` importing them.

`bookings` imports none of the apps above it (DESIGN.md §3), yet some of them want to act when counter time
is freed: the waitlist (waitlist/) offers it to the first person waiting for it before anyone else can take it.
So an upper app registers a handler once, at start-up (its AppConfig.ready):

    from bookings import hooks
    hooks.on_capacity_freed(my_handler)

and every action that frees future counter time (a cancellation, a move's old time, lapsed holds swept, a
counter block ended) calls `capacity_freed(location_id=..., days=..., now=...)` **inside its own transaction,
after the location lock and after the claims were deleted**. Each handler runs there, in a savepoint of its
own: what it writes commits with the change that freed the time (so nobody else can take the time in
between), and a handler that fails is rolled back to its savepoint and logged; it never fails the action.

The same registry carries `personal_data_erased`: an erasure on request (GDPR article 17) tells the upper
apps, inside its transaction, to erase what they keep about the same e-mail address; and `checked_in`: every
check-in (the desk's, the kiosk's, a walk-in's) tells the upper apps inside its transaction, after the
appointment's row lock, so the queue (queueing/) issues the person's ticket in the same transaction.

Handlers must be cheap when there is nothing to do (one query), take their own locks after the location
lock (docs/locking.md, "Order"), and never rely on being called: a handler may be missed (an exception, a
change that calls no hook, such as new opening hours), so an app that needs every change runs a periodic
scan as well (waitlist.tasks.offer_freed_time_task).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from bookings.models import Appointment

logger = logging.getLogger(__name__)

CapacityFreedHandler = Callable[..., object]  # handler(*, location_id: int, days: list[date] | None, now: datetime)

_capacity_freed: list[CapacityFreedHandler] = []
# handler(*, email: str, now: datetime): the desk erased this person's data on request (GDPR article 17).
_personal_data_erased: list[Callable[..., object]] = []
# handler(*, appointment, now, actor) -> str | None: the appointment was just checked in (its row locked, in the
# check-in's transaction); the text it returns is shown to the staff member who checked the person in.
_checked_in: list[Callable[..., str | None]] = []


def on_capacity_freed(handler: CapacityFreedHandler) -> CapacityFreedHandler:
    """Register `handler` (once; registering it again changes nothing). Usable as a decorator."""
    if handler not in _capacity_freed:
        _capacity_freed.append(handler)
    return handler


def remove_capacity_freed(handler: CapacityFreedHandler) -> None:
    """Unregister `handler` (tests)."""
    if handler in _capacity_freed:
        _capacity_freed.remove(handler)


def capacity_freed(*, location_id: int, days: Iterable[date] | None, now: datetime) -> None:
    """Tell every handler that counter time at `location_id` on `days` (local days; None: any day) was freed.

    Call inside the action's transaction, after its location lock and after the claims are gone."""
    if not _capacity_freed:
        return
    days = None if days is None else sorted(set(days))
    for handler in list(_capacity_freed):
        try:
            with transaction.atomic():
                handler(location_id=location_id, days=days, now=now)
        except Exception:  # a handler never fails the change that freed the time; its scan catches up
            logger.exception(
                "A capacity-freed handler failed (location %s); its periodic scan will catch up.", location_id
            )


def on_personal_data_erased(handler: Callable[..., object]) -> Callable[..., object]:
    """Register `handler(*, email, now)`, called inside the erasure's transaction (bookings.actions.privacy
    erase_personal_data) so an upper app erases what it keeps about the same person. Unlike the capacity
    hook, a failing handler fails the erasure: nothing may be left half erased."""
    if handler not in _personal_data_erased:
        _personal_data_erased.append(handler)
    return handler


def personal_data_erased(*, email: str, now: datetime) -> None:
    for handler in list(_personal_data_erased):
        handler(email=email, now=now)


def on_checked_in(handler: Callable[..., str | None]) -> Callable[..., str | None]:
    """Register `handler(*, appointment, now, actor)`, called inside every check-in's transaction once the
    appointment is checked in (bookings.actions.desk check_in_locked, and a walk-in's booking). Like the erasure
    hook, a failing handler fails the check-in: the queue's ticket commits with it or not at all. It returns a
    line for the staff member who checked the person in ("Ticket B012"), or None."""
    if handler not in _checked_in:
        _checked_in.append(handler)
    return handler


def checked_in(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> list[str]:
    """Tell every handler that `appointment` was checked in; returns their lines for staff."""
    notes = []
    for handler in list(_checked_in):
        note = handler(appointment=appointment, now=now, actor=actor)
        if note:
            notes.append(str(note))
    return notes
