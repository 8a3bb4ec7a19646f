"""Every write of the waitlist: joining, leaving, offering freed time, accepting or declining, ending,
anonymising, and the waitlist's e-mail outbox.

How freed counter time reaches the waitlist (bookings imports nothing from here):
- **the hook**: every action in `bookings` that frees future counter time calls
  `bookings.hooks.capacity_freed` inside its own transaction; `offer_freed_capacity` (registered in
  waitlist/apps.py) offers the time there and then, so the hold for the first person waiting commits with
  the cancellation and no refreshing script can take the time in between;
- **the scan**: `scan_waitlist` (beat, every minute, `now` passed in) lapses offers whose time is up, ends
  entries whose days have passed, and offers whatever free time matches a waiting entry at every location.
  It is the safety net for a missed hook and the only path for changes that call none (new opening hours).

Who gets the time: per location, matching is serialised by an advisory lock (after the location lock,
docs/locking.md "Order"), and the waiting entries are taken in joining order with their rows locked; the
first entry that a free start suits gets it. The time is held through the engine (`hold_in_transaction`):
the claims' unique constraint, the location lock and the fair-share caps apply as to any hold, and the hold
expires with the offer. Who owns an offer is decided by its locked row: accepting, declining and lapsing
each lock it and act only on an OPEN offer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from bookings import abuse, fairness
from bookings.actions import (
    BookingError,
    BookingResult,
    PersonName,
    cancel_appointment,
    confirm_locked_hold,
    hold_in_transaction,
    lock_appointment_at_location,
    move_locked_booking,
    release_locked_hold,
)
from bookings.availability import CapacitySnapshot, Slot, load_snapshot
from bookings.cache import days_around
from bookings.locking import capacity_changes
from bookings.mailboxes import mailbox_key
from bookings.models import Appointment, AppointmentStatus, Location
from bookings.municipalities import canonical_municipality
from bookings.text import has_control_characters
from bookings.tokens import hash_token, new_manage_token
from services.models import MAX_PERSONS_PER_BOOKING, Service
from waitlist.models import (
    OPEN_ENTRY_STATUSES,
    EntryStatus,
    MessageKind,
    MessageStatus,
    OfferStatus,
    WaitlistEntry,
    WaitlistMessage,
    WaitlistOffer,
)

logger = logging.getLogger(__name__)

# Error codes (BookingError.code) of the waitlist actions.
ALREADY_WAITING = "waitlist_already_waiting"
NO_DAYS = "waitlist_no_days"
BAD_DATES = "waitlist_bad_dates"
OFFER_GONE = "waitlist_offer_gone"
NOT_WAITING = "waitlist_not_waiting"
NOT_MOVABLE = "waitlist_not_movable"

# The most offers one matching run makes (the next run goes on).
MATCH_LIMIT = 50
ANONYMISE_BATCH = 500
MESSAGE_MAX_ATTEMPTS = 10
MESSAGE_STALE_AFTER = timedelta(minutes=10)
MESSAGE_REQUEUE_AFTER = timedelta(minutes=1)


def offer_minutes() -> timedelta:
    return timedelta(minutes=settings.EXPATDESK_WAITLIST_OFFER_MINUTES)


def _matcher_lock(location_id: int) -> None:
    """Serialise the matching runs of one location (taken after the location lock): two runs never offer
    the same time to different people, and the first entry in joining order is always asked first."""
    abuse.lock(f"waitlist:{location_id}")


# ---- joining and leaving ----------------------------------------------------------------------------


def _check_entry_input(
    *,
    location: Location,
    service: Service,
    persons: int,
    municipality: str,
    day_parts: int,
    first_day: date,
    last_day: date,
    now: datetime,
) -> str:
    """The checks of a new entry; returns the municipality in the location's own spelling."""
    if not service.is_active or not Service.objects.filter(pk=service.pk, is_active=True).exists():
        raise BookingError(BookingError.SERVICE_INACTIVE, _("This service cannot be booked at the moment."))
    if not 1 <= persons <= min(service.max_persons, MAX_PERSONS_PER_BOOKING):
        raise BookingError(
            BookingError.TOO_MANY_PERSONS,
            _("This service can be booked for at most %(max)d persons at once.") % {"max": service.max_persons},
        )
    if not day_parts:
        raise BookingError(NO_DAYS, _("Please choose at least one day and part of the day that suits you."))
    today = now.astimezone(location.tz).date()
    last_bookable = today + timedelta(days=service.booking_horizon_days)
    if first_day < today or last_day < first_day:
        raise BookingError(BAD_DATES, _("Please choose dates from today on, the first before the last."))
    if last_day > last_bookable:
        raise BookingError(
            BAD_DATES,
            _("This service can be booked at most %(days)d days ahead.") % {"days": service.booking_horizon_days},
        )
    if not service.requires_municipality:
        return ""
    if not municipality.strip():
        raise BookingError(
            BookingError.MUNICIPALITY_REQUIRED, _("Please tell us the municipality you live in or are moving to.")
        )
    canonical = canonical_municipality(location=location, value=municipality)
    if canonical is None:
        raise BookingError(
            BookingError.MUNICIPALITY_NOT_PARTICIPATING,
            _(
                "Fast-track registration at this desk is only for residents of the participating municipalities. "
                "Please register at the town hall of your own municipality."
            ),
        )
    return canonical


def _check_names(names: Sequence[PersonName], persons: int) -> None:
    if len(names) != persons or any(not n.first_name.strip() or not n.last_name.strip() for n in names):
        raise BookingError(BookingError.NAMES_MISMATCH, _("Please give the names of every person, as on their ID."))
    if any(has_control_characters(n.first_name) or has_control_characters(n.last_name) for n in names):
        raise BookingError(
            BookingError.NAMES_MISMATCH,
            _("A name cannot contain line breaks, tabs or other invisible control characters."),
        )


def _already_waiting() -> BookingError:
    return BookingError(
        ALREADY_WAITING,
        _(
            "This e-mail address is already on the waitlist for this service. The confirmation e-mail has a link "
            "to leave it; you can then join again with other days."
        ),
    )


def join_waitlist(
    *,
    location: Location,
    service: Service,
    persons: int,
    day_parts: int,
    first_day: date,
    last_day: date,
    email: str,
    names: Sequence[PersonName],
    now: datetime,
    municipality: str = "",
    language: str = "en",
) -> WaitlistEntry:
    """Put a person (or family) on the waitlist; the confirmation e-mail has the link to leave it.

    One open entry per mailbox and service (bookings/mailboxes.py: `name+1@` is `name@`): a second is
    refused (ALREADY_WAITING), by the database's unique constraint when two arrive at once."""
    municipality = _check_entry_input(
        location=location,
        service=service,
        persons=persons,
        municipality=municipality,
        day_parts=day_parts,
        first_day=first_day,
        last_day=last_day,
        now=now,
    )
    _check_names(names, persons)
    if not email.strip():
        raise BookingError("email_required", _("Please give your e-mail address."))
    with transaction.atomic(durable=True):
        entry = _create_entry(
            location=location,
            service=service,
            persons=persons,
            municipality=municipality,
            day_parts=day_parts,
            first_day=first_day,
            last_day=last_day,
            email=email.strip(),
            language=language,
            names=[[n.first_name.strip(), n.last_name.strip()] for n in names],
            appointment=None,
            now=now,
        )
        _write_message(entry=entry, kind=MessageKind.JOINED, now=now)
    return entry


def ask_for_earlier_time(
    *, appointment: Appointment, day_parts: int, first_day: date, now: datetime, last_day: date | None = None
) -> WaitlistEntry:
    """A person with a booking asks for an earlier time (from the manage page): an entry for the same
    service, persons and municipality, for times before the booking's; an accepted offer moves the booking."""
    if appointment.status != AppointmentStatus.BOOKED or appointment.start <= now or not appointment.contact_email:
        raise BookingError(NOT_MOVABLE, _("Only a booking still to come can ask for an earlier time."))
    location = appointment.location
    booked_day = appointment.start.astimezone(location.tz).date()
    last_day = min(last_day or booked_day, booked_day)
    _check_entry_input(
        location=location,
        service=appointment.service,
        persons=appointment.persons,
        municipality=appointment.municipality,
        day_parts=day_parts,
        first_day=first_day,
        last_day=last_day,
        now=now,
    )
    with transaction.atomic(durable=True):
        entry = _create_entry(
            location=location,
            service=appointment.service,
            persons=appointment.persons,
            municipality=appointment.municipality,
            day_parts=day_parts,
            first_day=first_day,
            last_day=last_day,
            email=appointment.contact_email,
            language=appointment.language,
            names=[],
            appointment=appointment,
            now=now,
        )
        _write_message(entry=entry, kind=MessageKind.JOINED, now=now)
    return entry


def _create_entry(*, email: str, now: datetime, **fields) -> WaitlistEntry:
    key = mailbox_key(email)
    if WaitlistEntry.objects.filter(
        mailbox_key=key, service=fields["service"], status__in=OPEN_ENTRY_STATUSES
    ).exists():
        raise _already_waiting()
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(email=email, mailbox_key=key, joined_at=now, **fields)
    except IntegrityError as error:  # another request joined with this mailbox at the same moment
        raise _already_waiting() from error


def leave_waitlist(*, entry: WaitlistEntry, now: datetime) -> bool:
    """Leave the waitlist (the link in its e-mails). An open offer is withdrawn and its held time freed
    for the next person. Returns False when the entry was no longer open (leaving twice says the same)."""
    with transaction.atomic(durable=True):
        capacity_changes(location_id=entry.location_id, days=[])
        offer = _lock_open_offer(entry=entry)  # the offer's row before the entry's, as everywhere
        locked = WaitlistEntry.objects.select_for_update(of=("self",)).get(pk=entry.pk)
        if not locked.is_open:
            return False
        if offer is not None:
            offer.status = OfferStatus.WITHDRAWN
            offer.decided_at = now
            offer.save(update_fields=["status", "decided_at"])
        locked.status = EntryStatus.LEFT
        locked.ended_at = now
        locked.save(update_fields=["status", "ended_at"])
        hold = offer.appointment if offer is not None else None
    if hold is not None:
        _free_hold(hold, now=now, reason="waitlist offer withdrawn")
    return True


def _lock_open_offer(*, entry: WaitlistEntry) -> WaitlistOffer | None:
    return (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("appointment")
        .filter(entry=entry, status=OfferStatus.OPEN)
        .first()
    )


def _free_hold(hold: Appointment, *, now: datetime, reason: str) -> None:
    """Cancel an offer's hold in its own transaction: its time goes to the next person waiting (the hook).
    Should this fail, the hold lapses with the offer's time and the scan offers it on."""
    with suppress(BookingError):  # booked, lapsed or cancelled meanwhile: nothing left to free
        cancel_appointment(appointment=hold, now=now, reason=reason)


# ---- matching: offering freed time ------------------------------------------------------------------


def offer_freed_capacity(*, location_id: int, days: list[date] | None, now: datetime) -> int:
    """The capacity-freed hook (bookings/hooks.py): inside the transaction that freed the time, offer it to
    the first waiting entries it suits. One query when nobody waits at the location."""
    if not WaitlistEntry.objects.filter(location_id=location_id, status=EntryStatus.WAITING).exists():
        return 0
    location = Location.objects.get(pk=location_id)
    return _match(location=location, days=days, now=now, wait_for_offers=False)


def scan_waitlist(*, now: datetime) -> int:
    """Beat, every minute: end entries whose days have passed, lapse offers whose time is up, and offer the
    free time that suits waiting entries, location by location (one transaction each). Returns the number
    of offers made."""
    end_past_entries(now=now)
    made = 0
    location_ids = set(
        WaitlistEntry.objects.filter(status=EntryStatus.WAITING).values_list("location_id", flat=True)
    ) | set(
        WaitlistOffer.objects.filter(status=OfferStatus.OPEN, expires_at__lte=now).values_list(
            "entry__location_id", flat=True
        )
    )
    for location in Location.objects.filter(pk__in=location_ids).order_by("pk"):
        with transaction.atomic(durable=True):
            # The location lock (shared, docs/locking.md); each offer made bumps its own day's cached answers.
            capacity_changes(location_id=location.pk, days=[])
            made += _match(location=location, days=None, now=now, wait_for_offers=True)
    return made


def _lapse_offers(*, location: Location, now: datetime, wait: bool) -> None:
    """Offers whose time is up, decided by their locked rows; their entries wait again (the same time is
    never offered to them twice). The scan (`wait`) waits for an offer being answered at this moment and
    then finds it answered; the hook, which runs inside another change (perhaps an accepted offer's own
    move), skips it rather than wait: the scan lapses it a minute later. Rows in id order, so two scans
    never wait for each other crosswise."""
    query = WaitlistOffer.objects.filter(entry__location=location, status=OfferStatus.OPEN, expires_at__lte=now)
    lapsed = list(query.select_for_update(of=("self",), skip_locked=not wait).order_by("pk"))
    for offer in lapsed:
        offer.status = OfferStatus.LAPSED
        offer.decided_at = now
        offer.save(update_fields=["status", "decided_at"])
        WaitlistEntry.objects.filter(pk=offer.entry_id, status=EntryStatus.OFFERED).update(status=EntryStatus.WAITING)


def _match(*, location: Location, days: list[date] | None, now: datetime, wait_for_offers: bool) -> int:
    """Offer free time to waiting entries in joining order. The caller holds the location's lock.

    Lapsing comes before the matching lock: a scan waiting for an offer being accepted holds nothing that
    the accepted offer's own move (whose hook matches too) waits for."""
    _lapse_offers(location=location, now=now, wait=wait_for_offers)
    _matcher_lock(location.pk)
    today = now.astimezone(location.tz).date()
    entries = list(
        WaitlistEntry.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("service", "appointment")
        .filter(location=location, status=EntryStatus.WAITING, last_day__gte=today)
        .order_by("joined_at", "pk")
    )
    if days is not None:
        wanted = set(days)
        entries = [e for e in entries if any(e.first_day <= day <= e.last_day for day in wanted)]
    if not entries:
        return 0
    offered_before = set(
        WaitlistOffer.objects.filter(entry__in=entries)
        .exclude(status=OfferStatus.OPEN)
        .values_list("entry_id", "start")
    )
    services = list({entry.service_id: entry.service for entry in entries}.values())
    end_date = max(entry.last_day for entry in entries)
    snapshot = None
    made = 0
    for entry in entries:
        if made >= MATCH_LIMIT:
            break
        if snapshot is None:
            snapshot = load_snapshot(location=location, start_date=today, end_date=end_date, now=now, services=services)
        slot = first_suiting_slot(snapshot=snapshot, entry=entry, days=days, now=now, offered_before=offered_before)
        if slot is None:
            continue
        try:
            with transaction.atomic():
                _make_offer(entry=entry, location=location, start=slot.start, now=now)
        except BookingError as error:
            logger.info("Waitlist entry %s not offered %s: %s", entry.pk, slot.start, error.code)
            snapshot = None  # someone else took it meanwhile: read the claims again
            continue
        made += 1
        snapshot = None  # the time is held now: read the claims again for the next entry
    return made


def first_suiting_slot(
    *,
    snapshot: CapacitySnapshot,
    entry: WaitlistEntry,
    days: list[date] | None,
    now: datetime,
    offered_before: set[tuple[int, datetime]] = frozenset(),
) -> Slot | None:
    """The first free start that suits the entry: its service and persons, its days and day-parts, not too
    soon to answer the offer, before its booking's time (an earlier time), not offered to it before."""
    service = entry.service
    tz = snapshot.location.tz
    earliest = max(now + offer_minutes(), snapshot.earliest_start(service))
    if entry.municipality and canonical_municipality(location=snapshot.location, value=entry.municipality) is None:
        return None
    day = max(entry.first_day, snapshot.start_date)
    last = min(entry.last_day, snapshot.end_date)
    wanted = None if days is None else set(days)
    while day <= last:
        if wanted is None or day in wanted:
            for slot in snapshot.free_slots_on(
                service=service, persons=entry.persons, day=day, extra_units=_extra_units_of(entry)
            ):
                if slot.start < earliest or not entry.suits(start=slot.start, tz=tz):
                    continue
                if entry.appointment_id is not None and slot.start >= entry.appointment.start:
                    return None  # later days are later still
                if (entry.pk, slot.start) in offered_before:
                    continue
                return slot
        day += timedelta(days=1)
    return None


def _extra_units_of(entry: WaitlistEntry) -> int:
    """The extra time of the booking the entry wants to move earlier (its offers must fit it); none otherwise."""
    return entry.appointment.extra_units if entry.appointment_id is not None else 0


def _make_offer(*, entry: WaitlistEntry, location: Location, start: datetime, now: datetime) -> WaitlistOffer:
    """Hold `start` for the entry through the engine and write the offer and its e-mail (in a savepoint)."""
    # The caller holds this location lock already; taking it again registers the bump of the day's cached answers.
    capacity_changes(location_id=location.pk, days=days_around(start))
    mailbox = fairness.mailbox_share(entry.email)
    fairness.lock_shares([mailbox])
    expires_at = now.astimezone(UTC) + offer_minutes()
    hold = hold_in_transaction(
        location=location,
        service=entry.service,
        start=start,
        persons=entry.persons,
        now=now,
        municipality=entry.municipality,
        language=entry.language,
        expires_at=expires_at,
        owner=None,
        mailbox=mailbox,
        extra_units=_extra_units_of(entry),
    )
    offer = WaitlistOffer.objects.create(
        entry=entry, appointment=hold, start=hold.start, created_at=now, expires_at=expires_at
    )
    entry.status = EntryStatus.OFFERED
    entry.save(update_fields=["status"])
    _write_message(entry=entry, kind=MessageKind.OFFER, offer=offer, now=now)
    return offer


# ---- answering an offer -----------------------------------------------------------------------------


def _offer_gone() -> BookingError:
    return BookingError(
        OFFER_GONE,
        _("This offer is no longer open: it was answered, or its time ran out and it went to the next person."),
    )


def accept_offer(*, offer: WaitlistOffer, now: datetime) -> BookingResult:
    """Book the offered time in one step (or move the entry's booking there, keeping the old time if the
    move fails). Decided by the offer's locked row: an offer lapsed by the scan is refused (OFFER_GONE), an
    open one is confirmed by the engine, whose claims decide (a lapsed hold whose time is still free is
    booked; taken, it is refused with SLOT_TAKEN and nothing changes)."""
    hold_row = offer.appointment
    with transaction.atomic(durable=True):
        capacity_changes(location_id=hold_row.location_id, days=days_around(offer.start))
        locked = WaitlistOffer.objects.select_for_update(of=("self",)).filter(pk=offer.pk).first()
        if locked is None or locked.status != OfferStatus.OPEN:
            raise _offer_gone()
        entry = WaitlistEntry.objects.select_for_update(of=("self",)).get(pk=locked.entry_id)
        hold = lock_appointment_at_location(hold_row)
        if entry.appointment_id is not None:
            result = _move_into_hold(entry=entry, hold=hold, now=now)
        else:
            result = confirm_locked_hold(
                locked=hold,
                names=[PersonName(first_name=first, last_name=last) for first, last in entry.names],
                contact_email=entry.email,
                language=entry.language,
                now=now,
            )
        locked.status = OfferStatus.ACCEPTED
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at"])
        entry.status = EntryStatus.BOOKED
        entry.ended_at = now
        entry.save(update_fields=["status", "ended_at"])
    return result


def _move_into_hold(*, entry: WaitlistEntry, hold: Appointment, now: datetime) -> BookingResult:
    booking = lock_appointment_at_location(entry.appointment)
    if booking.status != AppointmentStatus.BOOKED:
        raise BookingError(NOT_MOVABLE, _("Your booking can no longer be moved; it was cancelled or has passed."))
    start = hold.start
    release_locked_hold(locked=hold, now=now, reason="waitlist: booking moved here")
    moved = move_locked_booking(locked=booking, new_start=start, now=now, enforce_notice=False)
    return BookingResult(appointment=moved, manage_token="")


def decline_offer(*, offer: WaitlistOffer, now: datetime) -> bool:
    """Say no to an offered time: it goes to the next person waiting; the entry waits on for other times.
    Returns False when the offer was no longer open."""
    with transaction.atomic(durable=True):
        capacity_changes(location_id=offer.appointment.location_id, days=days_around(offer.start))
        locked = WaitlistOffer.objects.select_for_update(of=("self",)).select_related("appointment").get(pk=offer.pk)
        if locked.status != OfferStatus.OPEN:
            return False
        locked.status = OfferStatus.DECLINED
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at"])
        WaitlistEntry.objects.filter(pk=locked.entry_id, status=EntryStatus.OFFERED).update(status=EntryStatus.WAITING)
        hold = locked.appointment
    _free_hold(hold, now=now, reason="waitlist offer declined")
    return True


# ---- ending and anonymising -------------------------------------------------------------------------


def end_past_entries(*, now: datetime) -> int:
    """End the waiting entries whose days have passed (in their location's time zone), and those asking for
    an earlier time for a booking that is no longer booked or has begun. Returns how many."""
    ended = 0
    with transaction.atomic(durable=True):
        for location in Location.objects.filter(
            pk__in=WaitlistEntry.objects.filter(status=EntryStatus.WAITING).values("location_id")
        ):
            today = now.astimezone(location.tz).date()
            ended += WaitlistEntry.objects.filter(
                Q(last_day__lt=today)
                | Q(appointment__isnull=False)
                & (~Q(appointment__status=AppointmentStatus.BOOKED) | Q(appointment__start__lte=now)),
                location=location,
                status=EntryStatus.WAITING,
            ).update(status=EntryStatus.ENDED, ended_at=now)
    return ended


def anonymise_entries(*, now: datetime, limit: int = ANONYMISE_BATCH) -> int:
    """Erase the personal data of entries that ended more than EXPATDESK_ANONYMISE_AFTER_DAYS ago, as
    appointments are: e-mail, names, mailbox key and the e-mails' tokens and errors go; service, location,
    persons, municipality, days and times stay for statistics. At most `limit` in one go."""
    cutoff = now - timedelta(days=settings.EXPATDESK_ANONYMISE_AFTER_DAYS)
    with transaction.atomic(durable=True):
        ids = list(
            WaitlistEntry.objects.select_for_update(skip_locked=True)
            .filter(anonymised_at__isnull=True, ended_at__lt=cutoff)
            .exclude(status__in=OPEN_ENTRY_STATUSES)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WaitlistEntry.objects.filter(pk__in=ids).update(email="", names=[], mailbox_key="", anonymised_at=now)
            WaitlistMessage.objects.filter(entry_id__in=ids).update(token_hash="", last_error="")
            WaitlistMessage.objects.filter(
                entry_id__in=ids, status__in=[MessageStatus.PENDING, MessageStatus.SENDING]
            ).update(status=MessageStatus.SKIPPED)
    return len(ids)


def erase_entries_of(*, email: str, now: datetime) -> int:
    """The personal-data-erased hook (bookings/hooks.py), inside the erasure's transaction: every entry of
    the mailbox ends (an open offer is withdrawn; its hold, which carries no name or address, lapses with
    the offer and the scan passes the time on) and is anonymised at once. Returns how many."""
    key = mailbox_key(email)
    if not key:
        return 0
    entries = WaitlistEntry.objects.filter(mailbox_key=key)
    open_offers = WaitlistOffer.objects.select_for_update(of=("self",)).filter(
        entry__in=entries, status=OfferStatus.OPEN
    )
    for offer in open_offers.order_by("pk"):
        offer.status = OfferStatus.WITHDRAWN
        offer.decided_at = now
        offer.save(update_fields=["status", "decided_at"])
    ids = list(entries.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))
    WaitlistEntry.objects.filter(pk__in=ids, status__in=OPEN_ENTRY_STATUSES).update(
        status=EntryStatus.LEFT, ended_at=now
    )
    WaitlistEntry.objects.filter(pk__in=ids).update(email="", names=[], mailbox_key="", anonymised_at=now)
    WaitlistMessage.objects.filter(entry_id__in=ids).update(token_hash="", last_error="")
    WaitlistMessage.objects.filter(entry_id__in=ids, status__in=[MessageStatus.PENDING, MessageStatus.SENDING]).update(
        status=MessageStatus.SKIPPED
    )
    return len(ids)


# ---- the waitlist's e-mail outbox -------------------------------------------------------------------


def _write_message(
    *, entry: WaitlistEntry, kind: str, now: datetime, offer: WaitlistOffer | None = None
) -> WaitlistMessage | None:
    if not entry.email:
        return None
    message = WaitlistMessage.objects.create(entry=entry, offer=offer, kind=kind, created_at=now)
    from waitlist.tasks import send_waitlist_message  # the tasks module imports this one

    transaction.on_commit(lambda: send_waitlist_message.delay(message.pk), robust=True)
    return message


def claim_message(*, message_id: int, now: datetime) -> WaitlistMessage | None:
    """Claim a row for sending with one UPDATE: of two workers holding the same id only one gets it."""
    with transaction.atomic(durable=True):
        claimed = (
            WaitlistMessage.objects.filter(pk=message_id, attempts__lt=MESSAGE_MAX_ATTEMPTS)
            .filter(
                Q(status=MessageStatus.PENDING)
                | Q(status=MessageStatus.SENDING, claimed_at__lt=now - MESSAGE_STALE_AFTER)
            )
            .update(status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        )
        if not claimed:
            return None
        return WaitlistMessage.objects.select_related(
            "entry__service", "entry__location", "entry__appointment", "offer"
        ).get(pk=message_id)


def issue_message_token(*, message: WaitlistMessage) -> str:
    """A fresh random token for the claimed message's links; only its hash is kept, on the row."""
    token = new_manage_token()
    with transaction.atomic(durable=True):
        issued = WaitlistMessage.objects.filter(
            pk=message.pk, status=MessageStatus.SENDING, claimed_at=message.claimed_at
        ).update(token_hash=hash_token(token))
    return token if issued else ""


def finish_message(*, message: WaitlistMessage, status: str, now: datetime, error: str = "") -> bool:
    fields: dict = {"status": status, "last_error": error[:300]}
    if status == MessageStatus.SENT:
        fields["sent_at"] = now
    with transaction.atomic(durable=True):
        return bool(
            WaitlistMessage.objects.filter(
                pk=message.pk, status=MessageStatus.SENDING, claimed_at=message.claimed_at
            ).update(**fields)
        )


def requeue_messages(*, now: datetime, limit: int = 500) -> int:
    """Queue the send task again for rows whose task was lost. No writes: the task claims."""
    from waitlist.tasks import send_waitlist_message

    lost = WaitlistMessage.objects.filter(attempts__lt=MESSAGE_MAX_ATTEMPTS).filter(
        Q(status=MessageStatus.PENDING, created_at__lte=now - MESSAGE_REQUEUE_AFTER)
        | Q(status=MessageStatus.SENDING, claimed_at__lt=now - MESSAGE_STALE_AFTER)
    )
    ids = list(lost.order_by("pk").values_list("pk", flat=True)[:limit])
    for message_id in ids:
        send_waitlist_message.delay(message_id)
    return len(ids)
