"""A location's configuration: its settings, counters, opening hours and closures.

Every change here takes the location's lock exclusively (docs/locking.md), so it sees every booking made
before it and no booking is checked against rules it is replacing. A change that would strand live
appointments is refused, listing them: staff move or cancel them first. Lapsed holds never stand in the
way: their confirmation checks the rules again (bookings/actions/booking.py, confirm_hold).

The Django admin saves locations, counters, opening hours and closures only through these actions
(bookings/admin.py); the desk's capacity pages do too. Each change is recorded in ConfigurationEvent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings import opening_hours as hours_rules
from bookings.actions.common import BookingError
from bookings.locking import EXCLUSIVE, capacity_changes, capacity_changes_at
from bookings.models import (
    Appointment,
    AppointmentPart,
    Closure,
    ConfigurationEvent,
    ConfigurationKind,
    Counter,
    CounterBlock,
    Location,
    LocationService,
    OpeningHours,
    SlotClaim,
)

# Error codes (BookingError.code).
REASON_REQUIRED = "reason_required"
INVALID_PERIOD = "invalid_period"
INVALID_HOURS = "invalid_hours"
APPOINTMENTS_IN_CLOSURE = "appointments_in_closure"
APPOINTMENTS_OUTSIDE_HOURS = "appointments_outside_hours"
CLAIMS_ON_GRID = "claims_on_grid"
COUNTER_IN_USE = "counter_in_use"
LOCATION_IN_USE = "location_in_use"
SERVICE_IN_USE = "service_in_use"

# How many references a refusal lists before it says "…".
LISTED_REFERENCES = 20
# The fields of a location that its settings form may change (configure_location's `fields`): every
# editable column of the model.
LOCATION_FIELDS = frozenset(
    field.name for field in Location._meta.concrete_fields if field.editable and not field.primary_key
)


class ConfigurationRefused(BookingError):
    """A refused change, with the appointments (and counter blocks) that stand in its way."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        appointments: Sequence[Appointment] = (),
        blocks: Sequence[CounterBlock] = (),
    ) -> None:
        super().__init__(code, message)
        self.appointments = list(appointments)
        self.blocks = list(blocks)


def describe_appointments(appointments: Sequence[Appointment]) -> str:
    """'MAA-7KQ4-9XD2 (01-12-2026 09:00), …': the references staff look up, in the location's local time."""
    shown = ", ".join(
        f"{a.reference} ({a.start.astimezone(a.location.tz):%d-%m-%Y %H:%M})" for a in appointments[:LISTED_REFERENCES]
    )
    return shown + (", …" if len(appointments) > LISTED_REFERENCES else "")


def record_configuration(
    *, location_id: int | None, kind: str, now: datetime, actor: AbstractBaseUser | None, detail: str = ""
) -> None:
    """Append to the configuration audit trail (inside the action's transaction). No personal data."""
    ConfigurationEvent.objects.create(
        location_id=location_id, kind=kind, at=now, actor=actor if _is_saved_user(actor) else None, detail=detail[:300]
    )


def _is_saved_user(actor: AbstractBaseUser | None) -> bool:
    return actor is not None and getattr(actor, "pk", None) is not None


# ---- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterSpec:
    """A counter as the admin's form leaves it: `pk` None for a new one; `delete` to remove it."""

    pk: int | None
    name: str
    service_ids: frozenset[int]
    is_active: bool = True
    delete: bool = False


@dataclass(frozen=True)
class HoursRow:
    weekday: int
    start_time: time
    end_time: time
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class ClosureSpec:
    """A closure as the admin's form leaves it: `pk` None for a new one; `delete` to remove it."""

    pk: int | None
    start_date: date
    end_date: date
    reason: str
    delete: bool = False


@dataclass(frozen=True)
class OfferSpec:
    """A service the location offers, with its own minimum notice and horizon (None: the service's own)."""

    service_id: int
    minimum_notice_minutes: int | None = None
    booking_horizon_days: int | None = None


def check_hours_rows(rows: Sequence[HoursRow]) -> None:
    """Each interval closes after it opens, and no two intervals of a weekday overlap in a period both cover
    (today's admin accepts them, and the public times page then shows the same time twice)."""
    for row in rows:
        if row.weekday not in range(7):
            raise BookingError(INVALID_HOURS, _("Pick a weekday."))
        if not row.start_time < row.end_time:
            raise BookingError(INVALID_HOURS, _("Each interval must close after it opens."))
        if row.valid_from and row.valid_until and row.valid_until < row.valid_from:
            raise BookingError(INVALID_PERIOD, _("The last valid day cannot be before the first."))
    for index, row in enumerate(rows):
        for other in rows[index + 1 :]:
            if row.weekday == other.weekday and _periods_meet(row, other) and _times_meet(row, other):
                raise BookingError(
                    INVALID_HOURS,
                    _("The opening intervals of a day must not overlap (%(first)s and %(second)s).")
                    % {"first": _interval_text(row), "second": _interval_text(other)},
                )


def _periods_meet(row: HoursRow, other: HoursRow) -> bool:
    starts_before_other_ends = (
        row.valid_from is None or other.valid_until is None or row.valid_from <= other.valid_until
    )
    ends_after_other_starts = row.valid_until is None or other.valid_from is None or row.valid_until >= other.valid_from
    return starts_before_other_ends and ends_after_other_starts


def _times_meet(row: HoursRow, other: HoursRow) -> bool:
    return row.start_time < other.end_time and other.start_time < row.end_time


def _interval_text(row: HoursRow) -> str:
    return f"{row.start_time:%H:%M}–{row.end_time:%H:%M}"


def hours_rows_of(rows: Iterable[OpeningHours]) -> list[HoursRow]:
    return [HoursRow(r.weekday, r.start_time, r.end_time, r.valid_from, r.valid_until) for r in rows]


# ---- checks that read what the change would strand ----------------------------------------------


def _future_claims(*, location: Location, now: datetime) -> SlotClaim:
    return SlotClaim.objects.filter(counter__location=location, unit_end__gt=now)


def _release_lapsed_claims(*, location: Location, now: datetime, counter_ids: Iterable[int] | None = None) -> None:
    """Delete the claims of lapsed holds (their confirmation claims afresh under the new rules)."""
    lapsed = _future_claims(location=location, now=now).filter(expires_at__lte=now)
    if counter_ids is not None:
        lapsed = lapsed.filter(counter_id__in=list(counter_ids))
    lapsed.delete()


def _check_grid_and_time_zone(*, saved: Location, changed: Location, now: datetime) -> None:
    """A grid or time-zone change while future claims exist would let two claims overlap in real time
    (a 09:00-09:30 booking on a 15-minute grid no longer meets a 09:10 claim on a 10-minute grid): refused,
    listing the appointments and blocks; lapsed holds' claims are released."""
    if saved.grid_minutes == changed.grid_minutes and saved.time_zone == changed.time_zone:
        return
    _release_lapsed_claims(location=saved, now=now)
    claims = _future_claims(location=saved, now=now)
    appointment_ids = set(claims.filter(appointment__isnull=False).values_list("appointment_id", flat=True))
    block_ids = set(claims.filter(block__isnull=False).values_list("block_id", flat=True))
    if not appointment_ids and not block_ids:
        return
    appointments = list(
        Appointment.objects.filter(pk__in=appointment_ids).select_related("location").order_by("start", "pk")
    )
    blocks = list(CounterBlock.objects.filter(pk__in=block_ids).select_related("counter").order_by("start", "pk"))
    raise ConfigurationRefused(
        CLAIMS_ON_GRID,
        _(
            "The time grid or time zone cannot change while counter time is booked or blocked from now on "
            "(%(appointments)d appointments, %(blocks)d counter blocks): %(list)s. Move or cancel them, or end "
            "the blocks, first."
        )
        % {
            "appointments": len(appointments),
            "blocks": len(blocks),
            "list": ", ".join(filter(None, [describe_appointments(appointments), _describe_blocks(blocks)])),
        },
        appointments=appointments,
        blocks=blocks,
    )


def _describe_blocks(blocks: Sequence[CounterBlock]) -> str:
    return ", ".join(
        f"{block.counter.name} ({block.start.astimezone(block.counter.location.tz):%d-%m-%Y %H:%M})" for block in blocks
    )


def _check_hours(
    *,
    saved: Location,
    changed: Location,
    current: Sequence[OpeningHours],
    proposed: Sequence[OpeningHours],
    now: datetime,
) -> None:
    outside = hours_rules.appointments_outside(
        location=saved, current=current, proposed=proposed, now=now, changed=changed
    )
    if outside:
        raise AppointmentsOutsideHours(outside)


class AppointmentsOutsideHours(ConfigurationRefused):
    """A refused opening-hours (or grid, time-zone, active flag) change, with the appointments it strands."""

    def __init__(self, appointments: list[Appointment]) -> None:
        super().__init__(
            APPOINTMENTS_OUTSIDE_HOURS,
            ngettext(
                "%(count)d appointment would fall outside the opening hours or off the time grid: %(list)s. "
                "Move or cancel it first (the desk's capacity preview lists it).",
                "%(count)d appointments would fall outside the opening hours or off the time grid: %(list)s. "
                "Move or cancel them first (the desk's capacity preview lists them).",
                len(appointments),
            )
            % {"count": len(appointments), "list": describe_appointments(appointments)},
            appointments=appointments,
        )


def _live_on_days(*, location_ids: Iterable[int] | None, start_date: date, end_date: date, now: datetime) -> list:
    """Live appointments whose start falls on these local days (at these locations; all when None)."""
    appointments = Appointment.objects.live(now=now).select_related("location").order_by("start", "pk")
    if location_ids is not None:
        appointments = appointments.filter(location_id__in=list(location_ids))
    # A UTC window a day wider on each side first (any European time zone), then the local day of each.
    window_start = datetime.combine(start_date - timedelta(days=1), time.min, tzinfo=UTC)
    window_end = datetime.combine(end_date + timedelta(days=2), time.min, tzinfo=UTC)
    return [
        appointment
        for appointment in appointments.filter(start__gte=window_start, start__lt=window_end)
        if start_date <= appointment.start.astimezone(appointment.location.tz).date() <= end_date
    ]


def _check_closure(*, location_ids: Iterable[int] | None, start_date: date, end_date: date, now: datetime) -> None:
    live = _live_on_days(location_ids=location_ids, start_date=start_date, end_date=end_date, now=now)
    if live:
        raise ConfigurationRefused(
            APPOINTMENTS_IN_CLOSURE,
            ngettext(
                "%(count)d appointment falls on these days: %(list)s. Move or cancel it first.",
                "%(count)d appointments fall on these days: %(list)s. Move or cancel them first.",
                len(live),
            )
            % {"count": len(live), "list": describe_appointments(live)},
            appointments=live,
        )


def _check_closure_input(*, start_date: date, end_date: date, reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise BookingError(REASON_REQUIRED, _("Please give a reason for the closure."))
    if end_date < start_date:
        raise BookingError(INVALID_PERIOD, _("The last closed day cannot be before the first."))
    return reason[:200]


def _appointments_on_counter(*, counter_id: int, service_ids: Iterable[int] | None, now: datetime) -> list:
    """Live appointments with counter time on this counter from now on (of these services, if given)."""
    claims = SlotClaim.objects.filter(counter_id=counter_id, unit_end__gt=now, appointment__isnull=False)
    appointments = Appointment.objects.live(now=now).filter(pk__in=claims.values("appointment_id"))
    if service_ids is not None:  # the appointment's service, or any part's of a visit
        appointments = appointments.filter(_of_services(service_ids))
    return list(appointments.select_related("location").order_by("start", "pk"))


def _of_services(service_ids: Iterable[int]) -> Q:
    """Appointments of these services: their own, or a part's of a visit of several (AppointmentPart)."""
    ids = sorted(service_ids)
    return Q(service_id__in=ids) | Q(pk__in=AppointmentPart.objects.filter(service_id__in=ids).values("appointment_id"))


def _check_counter_change(*, counter: Counter, spec: CounterSpec, now: datetime) -> None:
    if spec.delete:
        if SlotClaim.objects.filter(counter=counter).exists():
            raise ConfigurationRefused(
                COUNTER_IN_USE,
                _(
                    "Counter %(name)s has booked or blocked counter time (now or in the past) and cannot be "
                    "deleted. Make it inactive instead."
                )
                % {"name": counter.name},
            )
        return
    if not spec.is_active and counter.is_active:
        stranded = _appointments_on_counter(counter_id=counter.pk, service_ids=None, now=now)
    else:
        removed = set(counter.services.values_list("pk", flat=True)) - set(spec.service_ids)
        stranded = _appointments_on_counter(counter_id=counter.pk, service_ids=removed, now=now) if removed else []
    if stranded:
        raise ConfigurationRefused(
            COUNTER_IN_USE,
            ngettext(
                "Counter %(name)s still has %(count)d appointment that needs it: %(list)s. Move or cancel it first.",
                "Counter %(name)s still has %(count)d appointments that need it: %(list)s. Move or cancel them first.",
                len(stranded),
            )
            % {"name": counter.name, "count": len(stranded), "list": describe_appointments(stranded)},
            appointments=stranded,
        )


# ---- actions -----------------------------------------------------------------------------------


def configure_location(
    *,
    location: Location | None,
    fields: dict[str, object],
    now: datetime,
    actor: AbstractBaseUser | None = None,
    counters: Sequence[CounterSpec] = (),
    opening_hours: Sequence[HoursRow] | None = None,
    closures: Sequence[ClosureSpec] = (),
    offers: Sequence[OfferSpec] | None = None,
) -> Location:
    """Create a location (`location` None) or change one: its settings (`fields`, names in LOCATION_FIELDS),
    counters, the complete set of its opening hours (None: unchanged), its closures and the complete set of
    the services it offers (`offers`; None: unchanged; a service no longer offered must have no live
    appointments here from now on), in one transaction
    under the location's exclusive lock. Refused with ConfigurationRefused (listing the appointments) while
    the change would leave live appointments outside opening hours, off the grid, on a closed day or on a
    counter that no longer serves them; refused while future claims exist for a grid or time-zone change."""
    unknown = set(fields) - LOCATION_FIELDS
    if unknown:
        raise ValueError(f"Unknown location fields: {sorted(unknown)}")
    if opening_hours is not None:
        check_hours_rows(list(opening_hours))
    closures = [
        spec
        if spec.delete
        else ClosureSpec(
            spec.pk,
            spec.start_date,
            spec.end_date,
            _check_closure_input(start_date=spec.start_date, end_date=spec.end_date, reason=spec.reason),
        )
        for spec in closures
    ]
    with transaction.atomic(durable=True):
        if location is None or location.pk is None:
            return _create_location(
                fields=fields,
                counters=counters,
                opening_hours=opening_hours or (),
                closures=closures,
                offers=offers or (),
                now=now,
                actor=actor,
            )
        capacity_changes(location_id=location.pk, mode=EXCLUSIVE)
        saved = Location.objects.get(pk=location.pk)
        changed = Location.objects.get(pk=location.pk)
        for name, value in fields.items():
            setattr(changed, name, value)
        changed_fields = [name for name in fields if getattr(saved, name) != getattr(changed, name)]
        _check_grid_and_time_zone(saved=saved, changed=changed, now=now)
        current = list(OpeningHours.objects.filter(location=saved).order_by("weekday", "start_time", "pk"))
        proposed = (
            current
            if opening_hours is None
            else [OpeningHours(location=saved, **row.__dict__) for row in opening_hours]
        )
        if changed_fields or opening_hours is not None:
            _check_hours(saved=saved, changed=changed, current=current, proposed=proposed, now=now)
        by_pk = {
            counter.pk: counter
            for counter in Counter.objects.filter(location=saved, pk__in=[s.pk for s in counters if s.pk])
        }
        for spec in counters:
            if spec.pk is not None:
                _check_counter_change(counter=by_pk[spec.pk], spec=spec, now=now)
        for spec in closures:
            if not spec.delete:
                _check_closure(location_ids=[saved.pk], start_date=spec.start_date, end_date=spec.end_date, now=now)
        if changed_fields:
            changed.full_clean()
            changed.save(update_fields=changed_fields)
            record_configuration(
                location_id=saved.pk,
                kind=ConfigurationKind.LOCATION_CHANGED,
                now=now,
                actor=actor,
                detail=", ".join(
                    f"{name}: {getattr(saved, name)} → {getattr(changed, name)}" for name in changed_fields
                ),
            )
        _apply_counters(location=changed, specs=counters, existing=by_pk, now=now, actor=actor)
        if opening_hours is not None and hours_rows_of(current) != list(opening_hours):
            _replace_hours(location=changed, rows=opening_hours, now=now, actor=actor)
        _apply_closures(location=changed, specs=closures, now=now, actor=actor)
        if offers is not None:
            _apply_offers(location=changed, specs=offers, now=now, actor=actor)
        return changed


def _create_location(
    *,
    fields: dict[str, object],
    counters: Sequence[CounterSpec],
    opening_hours: Sequence[HoursRow],
    closures: Sequence[ClosureSpec],
    offers: Sequence[OfferSpec],
    now: datetime,
    actor: AbstractBaseUser | None,
) -> Location:
    location = Location(**fields)
    location.full_clean()
    location.save()
    capacity_changes(location_id=location.pk, mode=EXCLUSIVE)
    record_configuration(
        location_id=location.pk, kind=ConfigurationKind.LOCATION_ADDED, now=now, actor=actor, detail=location.name
    )
    _apply_counters(location=location, specs=counters, existing={}, now=now, actor=actor)
    if opening_hours:
        _replace_hours(location=location, rows=opening_hours, now=now, actor=actor)
    _apply_closures(location=location, specs=closures, now=now, actor=actor)
    if offers:
        _apply_offers(location=location, specs=offers, now=now, actor=actor)
    return location


def _apply_offers(*, location: Location, specs: Sequence[OfferSpec], now: datetime, actor) -> None:
    """Make the location's offers exactly `specs` (under its exclusive lock): refused while a service it
    stops offering still has live appointments here."""
    wanted = {spec.service_id: spec for spec in specs}
    current = {offer.service_id: offer for offer in LocationService.objects.filter(location=location)}
    removed = set(current) - set(wanted)
    if removed:
        stranded = list(
            Appointment.objects.live(now=now)
            .filter(_of_services(removed), location=location, end__gt=now)
            .select_related("location")
            .order_by("start", "pk")
        )
        if stranded:
            raise ConfigurationRefused(
                SERVICE_IN_USE,
                ngettext(
                    "A service this location would stop offering still has %(count)d appointment here: %(list)s. "
                    "Move or cancel it first.",
                    "A service this location would stop offering still has %(count)d appointments here: %(list)s. "
                    "Move or cancel them first.",
                    len(stranded),
                )
                % {"count": len(stranded), "list": describe_appointments(stranded)},
                appointments=stranded,
            )
    changes: list[str] = []
    if removed:
        LocationService.objects.filter(location=location, service_id__in=sorted(removed)).delete()
        changes.append(f"no longer {sorted(removed)}")
    for service_id, spec in sorted(wanted.items()):
        offer = current.get(service_id) or LocationService(location=location, service_id=service_id)
        rules = (spec.minimum_notice_minutes, spec.booking_horizon_days)
        if offer.pk is not None and (offer.minimum_notice_minutes, offer.booking_horizon_days) == rules:
            continue
        offer.minimum_notice_minutes, offer.booking_horizon_days = rules
        offer.full_clean(exclude=["location", "service"])
        offer.save()
        changes.append(f"{service_id}: notice {rules[0]}, horizon {rules[1]}")
    if changes:
        record_configuration(
            location_id=location.pk,
            kind=ConfigurationKind.SERVICES_CHANGED,
            now=now,
            actor=actor,
            detail="; ".join(changes),
        )


def _apply_counters(
    *, location: Location, specs: Sequence[CounterSpec], existing: dict[int, Counter], now: datetime, actor
) -> None:
    for spec in specs:
        if spec.pk is None:
            if spec.delete:
                continue
            counter = Counter.objects.create(location=location, name=spec.name, is_active=spec.is_active)
            counter.services.set(spec.service_ids)
            record_configuration(
                location_id=location.pk, kind=ConfigurationKind.COUNTER_ADDED, now=now, actor=actor, detail=spec.name
            )
            continue
        counter = existing[spec.pk]
        if spec.delete:
            counter.delete()
            record_configuration(
                location_id=location.pk,
                kind=ConfigurationKind.COUNTER_DELETED,
                now=now,
                actor=actor,
                detail=counter.name,
            )
            continue
        before = (counter.name, counter.is_active, frozenset(counter.services.values_list("pk", flat=True)))
        if before == (spec.name, spec.is_active, spec.service_ids):
            continue
        if not spec.is_active:
            _release_lapsed_claims(location=location, now=now, counter_ids=[counter.pk])
        counter.name, counter.is_active = spec.name, spec.is_active
        counter.save(update_fields=["name", "is_active"])
        counter.services.set(spec.service_ids)
        record_configuration(
            location_id=location.pk,
            kind=ConfigurationKind.COUNTER_CHANGED,
            now=now,
            actor=actor,
            detail=f"{spec.name}: {'active' if spec.is_active else 'inactive'}, services {sorted(spec.service_ids)}",
        )


def _replace_hours(*, location: Location, rows: Sequence[HoursRow], now: datetime, actor) -> None:
    OpeningHours.objects.filter(location=location).delete()
    OpeningHours.objects.bulk_create([OpeningHours(location=location, **row.__dict__) for row in rows])
    record_configuration(
        location_id=location.pk,
        kind=ConfigurationKind.HOURS_CHANGED,
        now=now,
        actor=actor,
        detail="; ".join(_hours_text(row) for row in rows),
    )


def _hours_text(row: HoursRow) -> str:
    period = ""
    if row.valid_from or row.valid_until:
        period = f" ({row.valid_from or '…'} – {row.valid_until or '…'})"
    return f"{row.weekday}: {_interval_text(row)}{period}"


def _apply_closures(*, location: Location | None, specs: Sequence[ClosureSpec], now: datetime, actor) -> list[Closure]:
    saved: list[Closure] = []
    location_id = location.pk if location else None
    for spec in specs:
        detail = f"{spec.start_date} – {spec.end_date}: {spec.reason}"
        if spec.pk is None:
            if not spec.delete:
                saved.append(
                    Closure.objects.create(
                        location=location, start_date=spec.start_date, end_date=spec.end_date, reason=spec.reason
                    )
                )
                record_configuration(
                    location_id=location_id, kind=ConfigurationKind.CLOSURE_ADDED, now=now, actor=actor, detail=detail
                )
            continue
        if spec.delete:
            Closure.objects.filter(pk=spec.pk, location=location).delete()
            record_configuration(
                location_id=location_id, kind=ConfigurationKind.CLOSURE_DELETED, now=now, actor=actor, detail=detail
            )
            continue
        Closure.objects.filter(pk=spec.pk, location=location).update(
            start_date=spec.start_date, end_date=spec.end_date, reason=spec.reason
        )
        record_configuration(
            location_id=location_id, kind=ConfigurationKind.CLOSURE_CHANGED, now=now, actor=actor, detail=detail
        )
    return saved


def save_closure(
    *,
    location: Location | None,
    spec: ClosureSpec,
    now: datetime,
    actor: AbstractBaseUser | None = None,
) -> Closure | None:
    """Add, change or delete one closure of a location, or of every location (`location` None: every
    location is locked, in id order). Refused while live appointments fall on its days."""
    if not spec.delete:
        spec = ClosureSpec(
            spec.pk,
            spec.start_date,
            spec.end_date,
            _check_closure_input(start_date=spec.start_date, end_date=spec.end_date, reason=spec.reason),
        )
    with transaction.atomic(durable=True):
        if location is None:
            location_ids = list(Location.objects.order_by("pk").values_list("pk", flat=True))
            capacity_changes_at(location_ids=location_ids, mode=EXCLUSIVE)
        else:
            location_ids = [location.pk]
            capacity_changes(location_id=location.pk, mode=EXCLUSIVE)
        if not spec.delete:
            _check_closure(
                location_ids=None if location is None else location_ids,
                start_date=spec.start_date,
                end_date=spec.end_date,
                now=now,
            )
        saved = _apply_closures(location=location, specs=[spec], now=now, actor=actor)
    if spec.delete:
        return None
    return saved[0] if saved else Closure.objects.get(pk=spec.pk)


def add_closure(
    *,
    location: Location,
    start_date: date,
    end_date: date,
    reason: str,
    now: datetime,
    actor: AbstractBaseUser | None = None,
) -> Closure:
    """Close a location on some days (the desk's capacity page). Refused while live appointments fall on
    them: staff move or cancel those first (the capacity preview lists them)."""
    closure = save_closure(
        location=location, spec=ClosureSpec(None, start_date, end_date, reason), now=now, actor=actor
    )
    assert closure is not None
    return closure


def delete_location(*, location: Location, now: datetime, actor: AbstractBaseUser | None = None) -> None:
    """Delete a location that never had an appointment (its counters, hours and closures go with it)."""
    with transaction.atomic(durable=True):
        capacity_changes(location_id=location.pk, mode=EXCLUSIVE)
        if (
            Appointment.objects.filter(location_id=location.pk).exists()
            or SlotClaim.objects.filter(counter__location_id=location.pk).exists()
        ):
            raise ConfigurationRefused(
                LOCATION_IN_USE,
                _("%(name)s has appointments and cannot be deleted. Make it inactive instead.")
                % {"name": location.name},
            )
        name = location.name
        Location.objects.filter(pk=location.pk).delete()
        record_configuration(
            location_id=None, kind=ConfigurationKind.LOCATION_DELETED, now=now, actor=actor, detail=name
        )
