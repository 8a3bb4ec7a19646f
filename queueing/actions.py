"""Calling people to a counter: tickets, call next, recall, skip, transfer, put back, done.

Every step is one `transaction.atomic(durable=True)` block, written to the ticket's audit trail
(TicketEvent) and, where the appointment changes, to the appointment's (AppointmentEvent). Lock order
(docs/locking.md): the location lock first, only where counter time is released (done, no-show); then the
ticket row; then the appointment row (`FOR UPDATE OF` the one table). Which ticket a counter gets is decided
by the rows: `SELECT … FOR UPDATE SKIP LOCKED` on the queue in order, then an UPDATE that must touch exactly
one waiting row — two counters pressing Call next at the same moment never get the same ticket.

A visit of several parts (issue 13) has one ticket, queued and called for one part at a time
(`Ticket.part_position`, its `service` the part's): a call starts that part, Done finishes it (the visit with
its last part, bookings/actions/visit_desk.py), and "on to the next part" (next_part) finishes it and puts the
same ticket, with its number, back in the queue for the next part's service. A part finished moves no counter
time (the visit keeps its claims until it is over), so next_part takes no location lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy as _

from bookings.actions import BookingError
from bookings.actions.desk import finish_locked, no_show_locked, start_locked
from bookings.actions.visit_desk import close_part_locked, start_part_locked
from bookings.cache import days_around
from bookings.locking import capacity_changes
from bookings.models import Appointment, AppointmentPart, AppointmentStatus, Counter, Location
from queueing.display_cache import display_changed
from queueing.models import (
    ServiceLetter,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketKind,
    TicketStatus,
)
from queueing.selectors import queue_for_counter
from services.models import Service

# Error codes (BookingError.code) of the queue's actions.
NOT_CALLED = "ticket_not_called"
NOT_WAITING = "ticket_not_waiting"
WRONG_COUNTER = "wrong_counter"
TICKET_CLOSED = "ticket_closed"
NO_NEXT_PART = "no_next_part"


def late_grace() -> timedelta:
    return timedelta(minutes=settings.EXPATDESK_LATE_GRACE_MINUTES)


def calls_before_no_show() -> int:
    return max(1, settings.EXPATDESK_QUEUE_CALLS_BEFORE_NO_SHOW)


def letter_for(service: Service) -> str:
    """The service's configured letter, else the first A to Z letter of its English name (else its code)."""
    configured = ServiceLetter.objects.filter(service=service).values_list("letter", flat=True).first()
    if configured:
        return configured
    for text in (service.name_en, service.code):
        for char in text.upper():
            if "A" <= char <= "Z":
                return char
    return "X"


def _next_number(*, location_id: int, day, letter: str) -> int:
    """Count per location, local day and letter, in one statement: concurrent issuers never share a number."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO queueing_ticketsequence (location_id, day, letter, last_number) VALUES (%s, %s, %s, 1) "
            "ON CONFLICT (location_id, day, letter) DO UPDATE "
            "SET last_number = queueing_ticketsequence.last_number + 1 RETURNING last_number",
            [location_id, day, letter],
        )
        return int(cursor.fetchone()[0])


def _event(ticket: Ticket, kind: str, *, now: datetime, actor, counter: Counter | None = None) -> None:
    TicketEvent.objects.create(ticket=ticket, kind=kind, at=now, actor=actor, counter=counter)


def issue_ticket_in_transaction(
    *, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None, kind: str | None = None
) -> Ticket:
    """The ticket of a checked-in appointment (the caller holds its row lock, inside its transaction)."""
    location = appointment.location
    checked_in_at = appointment.checked_in_at or now
    if kind is None:
        # A walk-in is booked and checked in at once (bookings.actions.walk_in).
        same_moment = appointment.booked_at is not None and appointment.booked_at == appointment.checked_in_at
        kind = TicketKind.WALK_IN if same_moment else TicketKind.APPOINTMENT
    is_late = kind == TicketKind.APPOINTMENT and checked_in_at > appointment.start + late_grace()
    if kind == TicketKind.WALK_IN:
        queue_at, rank = checked_in_at, 1
    elif is_late:
        queue_at, rank = checked_in_at, 2
    else:
        queue_at, rank = appointment.start, 0
    day = checked_in_at.astimezone(location.tz).date()
    letter = letter_for(appointment.service)
    ticket = Ticket.objects.create(
        location=location,
        appointment=appointment,
        service=appointment.service,
        day=day,
        letter=letter,
        number=_next_number(location_id=location.pk, day=day, letter=letter),
        kind=kind,
        is_late=is_late,
        queue_at=queue_at,
        queue_rank=rank,
        checked_in_at=checked_in_at,
    )
    _event(ticket, TicketEventKind.ISSUED, now=now, actor=actor)
    return ticket


def ticket_for_checked_in(
    *, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None, kind: str | None = None
) -> Ticket:
    """The one way a checked-in appointment gets its ticket: the one it has (checked in again after an undone
    check-in, or at the kiosk a second time), else a new one. The caller holds the appointment's row lock,
    inside its transaction."""
    existing = Ticket.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    return issue_ticket_in_transaction(appointment=appointment, now=now, actor=actor, kind=kind)


def ticket_on_check_in(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> str:
    """The check-in hook (bookings/hooks.py, registered in QueueingConfig.ready): every check-in — the desk's by
    reference or from the agenda, the kiosk's, a walk-in's — gets its ticket in its own transaction. Returns the
    line the desk shows the staff member."""
    ticket = ticket_for_checked_in(appointment=appointment, now=now, actor=actor)
    return _("Ticket %(ticket)s") % {"ticket": ticket.code}


def _issue_missing_tickets(*, location: Location, day, now: datetime, actor) -> None:
    """Tickets for today's checked-in appointments that have none: a safety net only, since every check-in
    issues its ticket (ticket_on_check_in), for appointments checked in before that was so.
    Rows another transaction is issuing for are skipped; a lost race for the same row is dropped in its
    savepoint."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=location.tz)
    candidates = (
        Appointment.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("location", "service")
        .filter(
            location=location,
            status=AppointmentStatus.CHECKED_IN,
            start__gte=start,
            start__lt=start + timedelta(days=1),
            ticket__isnull=True,
        )
        .order_by("checked_in_at", "pk")
    )
    for appointment in candidates:
        try:
            with transaction.atomic():
                issue_ticket_in_transaction(appointment=appointment, now=now, actor=actor)
        except IntegrityError:
            continue


def _back_of_the_queue(*, ticket: Ticket, now: datetime) -> datetime:
    """A place behind every ticket waiting at the location now (appointments are queued at their start)."""
    latest = (
        Ticket.objects.filter(location_id=ticket.location_id, day=ticket.day, status=TicketStatus.WAITING)
        .exclude(pk=ticket.pk)
        .order_by("-queue_at")
        .values_list("queue_at", flat=True)
        .first()
    )
    return max(now, latest) if latest else now


def _lock_ticket(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("location", "appointment", "counter")
        .get(pk=ticket.pk)
    )


def _lock_appointment(ticket: Ticket) -> Appointment:
    return Appointment.objects.select_for_update(of=("self",)).select_related("location").get(pk=ticket.appointment_id)


def _part_called_for(*, appointment: Appointment, ticket: Ticket) -> AppointmentPart | None:
    """The part of a visit the ticket is at now (None for a booking of one service). The caller holds the
    appointment's row lock."""
    if appointment.part_count == 1:
        return None
    return (
        AppointmentPart.objects.select_related("service")
        .filter(appointment=appointment, position=ticket.part_position)
        .first()
    )


def _start_appointment(*, ticket: Ticket, now: datetime, actor) -> None:
    """The appointment's side of a call: started (as the desk's Start does); for a visit, the part called for."""
    appointment = _lock_appointment(ticket)
    part = _part_called_for(appointment=appointment, ticket=ticket)
    if part is not None:
        if appointment.status == AppointmentStatus.CHECKED_IN and part.started_at is None and _is_open(part):
            start_part_locked(locked=appointment, part=part, now=now, actor=actor)
        return
    if appointment.started_at is None:
        start_locked(locked=appointment, now=now, actor=actor)


def _is_open(part: AppointmentPart) -> bool:
    return part.done_at is None and part.no_show_at is None


def _check_counter(counter: Counter) -> None:
    if not counter.is_active:
        raise BookingError(BookingError.COUNTER_INACTIVE, _("That counter is not in use."))


def call_next(*, counter: Counter, now: datetime, actor: AbstractBaseUser | None) -> Ticket | None:
    """The next ticket in this counter's queue, called to it; None when nobody is waiting."""
    _check_counter(counter)
    location = counter.location
    day = now.astimezone(location.tz).date()
    with transaction.atomic(durable=True):
        _issue_missing_tickets(location=location, day=day, now=now, actor=actor)
        for _attempt in range(3):
            candidate = (
                queue_for_counter(counter=counter, day=day)
                .select_for_update(of=("self",), skip_locked=True)
                .values_list("pk", flat=True)
                .first()
            )
            if candidate is None:
                return None
            # The row count decides: only a waiting ticket becomes ours.
            taken = Ticket.objects.filter(pk=candidate, status=TicketStatus.WAITING).update(
                status=TicketStatus.CALLED,
                counter=counter,
                transferred_at=None,
                last_called_at=now,
                calls=1,
            )
            if taken == 1:
                break
        else:
            return None
        ticket = _lock_ticket(Ticket(pk=candidate))
        if ticket.first_called_at is None:
            ticket.first_called_at = now
            ticket.wait_seconds = max(0, int((now - ticket.checked_in_at).total_seconds()))
            ticket.save(update_fields=["first_called_at", "wait_seconds"])
        _start_appointment(ticket=ticket, now=now, actor=actor)
        _event(ticket, TicketEventKind.CALLED, now=now, actor=actor, counter=counter)
        display_changed(location_id=location.pk)
    return ticket


def _refuse_unless_called(ticket: Ticket, counter: Counter | None = None) -> None:
    if ticket.status != TicketStatus.CALLED:
        raise BookingError(NOT_CALLED, _("Ticket %(ticket)s is not at a counter now.") % {"ticket": ticket.code})
    if counter is not None and ticket.counter_id != counter.pk:
        raise BookingError(
            WRONG_COUNTER, _("Ticket %(ticket)s was called to another counter.") % {"ticket": ticket.code}
        )


def recall(*, ticket: Ticket, counter: Counter, now: datetime, actor: AbstractBaseUser | None) -> Ticket:
    """Call the same ticket again (it shows on the display again)."""
    with transaction.atomic(durable=True):
        locked = _lock_ticket(ticket)
        _refuse_unless_called(locked, counter)
        locked.calls += 1
        locked.last_called_at = now
        locked.save(update_fields=["calls", "last_called_at"])
        _event(locked, TicketEventKind.RECALLED, now=now, actor=actor, counter=counter)
        display_changed(location_id=locked.location_id)
    return locked


def _no_show_checked_in(*, ticket: Ticket, now: datetime, actor) -> None:
    """The person was called and never came: their appointment is a no-show, its counter time from now freed.
    For a visit: the part called for and every later part still open are no-shows; the visit is done if a part
    was done before, else a no-show (bookings/actions/visit_desk.py close_part_locked)."""
    appointment = _lock_appointment(ticket)
    if appointment.status != AppointmentStatus.CHECKED_IN:
        return
    if appointment.part_count > 1:
        parts = AppointmentPart.objects.select_related("service").filter(
            appointment=appointment, position__gte=ticket.part_position
        )
        for part in [part for part in parts.order_by("position") if _is_open(part)]:
            close_part_locked(locked=appointment, part=part, done=False, now=now, actor=actor)
        return
    no_show_locked(locked=appointment, now=now, actor=actor, detail="queue")


def skip(*, ticket: Ticket, counter: Counter, now: datetime, actor: AbstractBaseUser | None) -> Ticket:
    """The person does not come: back to the end of the queue, and a no-show after
    EXPATDESK_QUEUE_CALLS_BEFORE_NO_SHOW calls."""
    with transaction.atomic(durable=True):
        # A no-show frees counter time: the location lock first (docs/locking.md).
        capacity_changes(location_id=ticket.location_id, days=days_around(now))
        locked = _lock_ticket(ticket)
        _refuse_unless_called(locked, counter)
        if locked.calls >= calls_before_no_show():
            locked.status = TicketStatus.NO_SHOW
            locked.done_at = now
            locked.save(update_fields=["status", "done_at"])
            _no_show_checked_in(ticket=locked, now=now, actor=actor)
            _event(locked, TicketEventKind.NO_SHOW, now=now, actor=actor, counter=counter)
        else:
            # Behind everyone waiting now, with the calls counted; any counter serving the service may call it.
            locked.status = TicketStatus.WAITING
            locked.counter = None
            locked.queue_at = _back_of_the_queue(ticket=locked, now=now)
            locked.queue_rank = 3
            locked.save(update_fields=["status", "counter", "queue_at", "queue_rank"])
            _event(locked, TicketEventKind.SKIPPED, now=now, actor=actor, counter=counter)
        display_changed(location_id=locked.location_id)
    return locked


def call_again_from_queue(*, ticket: Ticket, counter: Counter, now: datetime, actor: AbstractBaseUser | None) -> Ticket:
    """A skipped person turns up: call that ticket to this counter now, out of turn."""
    _check_counter(counter)
    with transaction.atomic(durable=True):
        locked = _lock_ticket(ticket)
        if locked.status != TicketStatus.WAITING or locked.location_id != counter.location_id:
            raise BookingError(NOT_WAITING, _("Ticket %(ticket)s is not waiting.") % {"ticket": locked.code})
        locked.status = TicketStatus.CALLED
        locked.counter = counter
        locked.transferred_at = None
        locked.calls += 1
        locked.last_called_at = now
        if locked.first_called_at is None:
            locked.first_called_at = now
            locked.wait_seconds = max(0, int((now - locked.checked_in_at).total_seconds()))
        locked.save(
            update_fields=[
                "status",
                "counter",
                "transferred_at",
                "calls",
                "last_called_at",
                "first_called_at",
                "wait_seconds",
            ]
        )
        _start_appointment(ticket=locked, now=now, actor=actor)
        _event(locked, TicketEventKind.CALLED, now=now, actor=actor, counter=counter)
        display_changed(location_id=locked.location_id)
    return locked


def transfer(
    *, ticket: Ticket, counter: Counter, to_counter: Counter, now: datetime, actor: AbstractBaseUser | None
) -> Ticket:
    """Send the person to another counter of the location: first in that counter's queue."""
    _check_counter(to_counter)
    if to_counter.location_id != ticket.location_id:
        raise BookingError(BookingError.WRONG_LOCATION, _("That counter is at another location."))
    if to_counter.pk == counter.pk:
        raise BookingError(WRONG_COUNTER, _("Choose another counter than this one."))
    with transaction.atomic(durable=True):
        locked = _lock_ticket(ticket)
        _refuse_unless_called(locked, counter)
        locked.status = TicketStatus.WAITING
        locked.counter = to_counter
        locked.transferred_at = now
        locked.calls = 0
        locked.save(update_fields=["status", "counter", "transferred_at", "calls"])
        _event(locked, TicketEventKind.TRANSFERRED, now=now, actor=actor, counter=to_counter)
        display_changed(location_id=locked.location_id)
    return locked


def requeue(*, ticket: Ticket, counter: Counter, now: datetime, actor: AbstractBaseUser | None) -> Ticket:
    """Put the person back in the queue (e.g. to fetch a document): behind everyone waiting now."""
    with transaction.atomic(durable=True):
        locked = _lock_ticket(ticket)
        _refuse_unless_called(locked, counter)
        locked.status = TicketStatus.WAITING
        locked.counter = None
        locked.transferred_at = None
        locked.calls = 0
        locked.queue_at = _back_of_the_queue(ticket=locked, now=now)
        locked.queue_rank = 3
        locked.save(update_fields=["status", "counter", "transferred_at", "calls", "queue_at", "queue_rank"])
        _event(locked, TicketEventKind.REQUEUED, now=now, actor=actor, counter=counter)
        display_changed(location_id=locked.location_id)
    return locked


def finish(*, ticket: Ticket, counter: Counter, now: datetime, actor: AbstractBaseUser | None) -> Ticket:
    """Served: the ticket and its appointment are done; the appointment's counter time left over is freed."""
    with transaction.atomic(durable=True):
        capacity_changes(location_id=ticket.location_id, days=days_around(now))
        locked = _lock_ticket(ticket)
        _refuse_unless_called(locked, counter)
        locked.status = TicketStatus.DONE
        locked.done_at = now
        locked.service_seconds = max(0, int((now - (locked.first_called_at or now)).total_seconds()))
        locked.save(update_fields=["status", "done_at", "service_seconds"])
        appointment = _lock_appointment(locked)
        if appointment.status == AppointmentStatus.CHECKED_IN:
            part = _part_called_for(appointment=appointment, ticket=locked)
            if part is None:
                finish_locked(locked=appointment, now=now, actor=actor, counter_name=counter.name)
            elif _is_open(part):
                # This part done; the visit is done with its last part (its later parts stay for the desk).
                close_part_locked(
                    locked=appointment, part=part, done=True, now=now, actor=actor, counter_name=counter.name
                )
        _event(locked, TicketEventKind.DONE, now=now, actor=actor, counter=counter)
        display_changed(location_id=locked.location_id)
    return locked


def next_part(*, ticket: Ticket, counter: Counter, now: datetime, actor: AbstractBaseUser | None) -> Ticket:
    """The part the ticket was called for is done, and the visit has another part still to come: the same
    ticket (its number kept) waits again, for that part's service, at that part's time in the queue; only
    counters serving that service call it. No location lock: the part done frees no counter time, and with a
    later part still open it cannot be the visit's last (decided under the appointment's row lock)."""
    with transaction.atomic(durable=True):
        locked = _lock_ticket(ticket)
        _refuse_unless_called(locked, counter)
        appointment = _lock_appointment(locked)
        current = _part_called_for(appointment=appointment, ticket=locked)
        following = None
        if current is not None and appointment.status == AppointmentStatus.CHECKED_IN:
            following = next(
                (
                    part
                    for part in AppointmentPart.objects.select_related("service")
                    .filter(appointment=appointment, position__gt=current.position)
                    .order_by("position")
                    if _is_open(part)
                ),
                None,
            )
        if following is None:
            raise BookingError(
                NO_NEXT_PART,
                _("Ticket %(ticket)s has no further part of its visit to go to.") % {"ticket": locked.code},
            )
        if _is_open(current):
            close_part_locked(
                locked=appointment, part=current, done=True, now=now, actor=actor, counter_name=counter.name
            )
        locked.status = TicketStatus.WAITING
        locked.service = following.service
        locked.part_position = following.position
        locked.counter = None
        locked.transferred_at = None
        locked.calls = 0
        # Queued as an appointment on time for its part: the part's own start, which its claims hold.
        locked.queue_at = following.start
        locked.queue_rank = 0
        locked.save(
            update_fields=[
                "status",
                "service",
                "part_position",
                "counter",
                "transferred_at",
                "calls",
                "queue_at",
                "queue_rank",
            ]
        )
        _event(locked, TicketEventKind.NEXT_PART, now=now, actor=actor, counter=counter)
        display_changed(location_id=locked.location_id)
    return locked


def set_ticket_letter(*, service: Service, letter: str, actor: AbstractBaseUser | None = None) -> ServiceLetter:
    """Configure the letter a service's tickets start with (tickets already issued keep theirs)."""
    letter = (letter or "").strip().upper()
    if len(letter) != 1 or not ("A" <= letter <= "Z"):
        raise BookingError(BookingError.INVALID_STATUS, _("Use one capital letter, A to Z."))
    with transaction.atomic(durable=True):
        row, _created = ServiceLetter.objects.update_or_create(service=service, defaults={"letter": letter})
    return row


def remove_ticket_letter(*, service: Service, actor: AbstractBaseUser | None = None) -> None:
    """Back to the letter derived from the service's name."""
    with transaction.atomic(durable=True):
        ServiceLetter.objects.filter(service=service).delete()
