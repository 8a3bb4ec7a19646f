"""Privacy: anonymise after the retention period; export (recording who did) or erase one person's data on
request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from bookings import hooks, privacy
from bookings.actions.common import (
    BookingError,
    _hand_to_blocks,
    _record,
)
from bookings.locking import SHARED, capacity_changes_at
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EventKind,
    OutboxEmail,
    OutboxStatus,
    Person,
    SlotClaim,
)

# ---- privacy: anonymise after the appointment, export or erase on request (issue 5) -----------
# Imports for this section only, so the top of the module stays as other changes left it.

# Error codes of the privacy actions (BookingError.code).
EMAIL_REQUIRED = "email_required"
# The most appointments one anonymisation run takes in one transaction; the task runs until done.
ANONYMISE_BATCH = 500
# AppointmentEvent.detail of the erasure's own cancellations (no personal data).
ERASURE_DETAIL = "erasure on request"


def _erase(*, appointment_ids: Sequence[int], now: datetime, actor: AbstractBaseUser | None, detail: str) -> None:
    """Erase the personal data of these (locked) appointments; keep what statistics need.

    Erased: the people's names (Person rows deleted), e-mail, phone, special needs, the manage links (the hashes of the
    booking's and its e-mails' tokens: the links stop working), the client-address and mailbox keys, the
    cancellation reason and event details (free text staff may have typed), and the outbox's error
    texts; e-mails not yet sent are skipped.
    Kept: reference, service, location, times, number of persons, language, municipality (one of the 17
    participating municipalities, the figure the municipalities fund the desk by; on its own it
    identifies nobody), status and timestamps.
    """
    Person.objects.filter(appointment_id__in=appointment_ids).delete()
    Appointment.objects.filter(pk__in=appointment_ids).update(
        contact_email="",
        phone="",
        manage_token_hash="",
        cancel_reason="",
        client_key="",
        mailbox_key="",
        needs_wheelchair=False,
        interpreter_language="",
        extra_units=0,
    )
    AppointmentEvent.objects.filter(appointment_id__in=appointment_ids).exclude(detail="").update(detail="")
    OutboxEmail.objects.filter(appointment_id__in=appointment_ids).exclude(last_error="").update(last_error="")
    OutboxEmail.objects.filter(appointment_id__in=appointment_ids).exclude(manage_token_hash="").update(
        manage_token_hash=""
    )
    OutboxEmail.objects.filter(
        appointment_id__in=appointment_ids, status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]
    ).update(status=OutboxStatus.SKIPPED, next_attempt_at=None)
    AppointmentEvent.objects.bulk_create(
        [
            AppointmentEvent(appointment_id=pk, kind=EventKind.ANONYMISED, at=now, actor=actor, detail=detail)
            for pk in appointment_ids
        ]
    )
    _run_anonymisation_hooks(appointment_ids=appointment_ids, now=now)


def _run_anonymisation_hooks(*, appointment_ids: Sequence[int], now: datetime) -> None:
    """What apps above bookings keep about these appointments goes in the same transaction: each callable
    named in EXPATDESK_ANONYMISATION_HOOKS (the settings wire them; bookings imports none of those apps,
    DESIGN.md §3) is called with the ids and `now`."""
    for path in settings.EXPATDESK_ANONYMISATION_HOOKS:
        import_string(path)(appointment_ids=list(appointment_ids), now=now)


def _not_anonymised() -> Q:
    return ~Q(Exists(AppointmentEvent.objects.filter(appointment=OuterRef("pk"), kind=EventKind.ANONYMISED)))


def anonymise_past_appointments(*, now: datetime, limit: int = ANONYMISE_BATCH) -> int:
    """Erase the personal data of appointments that ended more than EXPATDESK_ANONYMISE_AFTER_DAYS ago
    (whatever their status), at most `limit` in one go; returns how many. Also deletes expired sessions
    (a session can hold a half-typed booking form). Rows another transaction holds are left to the next run.
    """
    cutoff = now - timedelta(days=settings.EXPATDESK_ANONYMISE_AFTER_DAYS)
    with transaction.atomic(durable=True):
        ids = list(
            Appointment.objects.select_for_update(skip_locked=True)
            .filter(end__lt=cutoff)
            .filter(_not_anonymised())
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            _erase(appointment_ids=ids, now=now, actor=None, detail="")
        _delete_sessions(now=now)
    return len(ids)


def _delete_sessions(*, now: datetime, email: str = "") -> None:
    """Delete expired sessions and, given an address, the live ones that hold it (a half-typed booking
    form). Only for sessions in the database; other session stores expire by themselves."""
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    Session.objects.filter(expire_date__lt=now).delete()
    if not email:
        return
    from django.contrib.sessions.backends.db import SessionStore

    needle = email.casefold()
    store = SessionStore()
    holding = [
        session.session_key
        for session in Session.objects.all().iterator()
        if needle in str(store.decode(session.session_data)).casefold()
    ]
    Session.objects.filter(session_key__in=holding).delete()


def erase_personal_data(
    *, email: str, now: datetime, actor: AbstractBaseUser | None, location_ids: frozenset[int] | None = None
) -> int:
    """Erase one person's data on request: every appointment booked with this e-mail address (at
    `location_ids` only, for an admin limited to locations; None: at every location).

    Sessions holding the address (a half-typed booking form) are deleted too.
    Their live bookings still to come (held or booked) are cancelled first, in the same transaction,
    and their counter time is free again: a booking without a name cannot be served at the desk. No
    cancellation e-mail is sent (the person asked for this, and the address is erased). Returns how many
    appointments were erased.
    """
    email = email.strip()
    if not email:
        raise BookingError(EMAIL_REQUIRED, _("Please give the e-mail address of the person."))
    with transaction.atomic(durable=True):
        # The locations first, then the rows (docs/locking.md): their free capacity changes.
        found = Appointment.objects.filter(contact_email__iexact=email)
        if location_ids is not None:
            found = found.filter(location_id__in=location_ids)
        location_ids = set(found.values_list("location_id", flat=True))
        capacity_changes_at(location_ids=location_ids, mode=SHARED)
        locked = list(
            Appointment.objects.filter(contact_email__iexact=email, location_id__in=location_ids)
            .select_for_update()
            .order_by("pk")
        )
        for appointment in locked:
            if appointment.status in (AppointmentStatus.HELD, AppointmentStatus.BOOKED) and appointment.end > now:
                claims = SlotClaim.objects.filter(appointment=appointment)
                released = list(claims.values_list("counter_id", "unit_start"))
                claims.delete()
                _hand_to_blocks(units=released, now=now)
                appointment.status = AppointmentStatus.CANCELLED
                appointment.cancelled_at = now
                appointment.hold_expires_at = None
                appointment.sequence += 1
                appointment.save(update_fields=["status", "cancelled_at", "hold_expires_at", "sequence"])
                _record(appointment=appointment, kind=EventKind.CANCELLED, now=now, actor=actor)
        ids = [appointment.pk for appointment in locked]
        if ids:
            _erase(appointment_ids=ids, now=now, actor=actor, detail=ERASURE_DETAIL)
        _delete_sessions(now=now, email=email)
        hooks.personal_data_erased(email=email, now=now)  # what upper apps keep (the waitlist)
    return len(ids)


def export_personal_data(
    *, email: str, now: datetime, actor: AbstractBaseUser | None, location_ids: frozenset[int] | None = None
) -> dict:
    """A person's data request: everything held about them (bookings.privacy.export_personal_data), and
    on each of their appointments an `exported` event saying who downloaded it and when. The event holds
    no personal data: not the address asked for, nothing of the export."""
    email = email.strip()
    if not email:
        raise BookingError(EMAIL_REQUIRED, _("Please give the e-mail address of the person."))
    with transaction.atomic(durable=True):
        data = privacy.export_personal_data(email=email, now=now, location_ids=location_ids)
        ids = list(privacy.appointments_for_email(email, location_ids=location_ids).values_list("pk", flat=True))
        AppointmentEvent.objects.bulk_create(
            [AppointmentEvent(appointment_id=pk, kind=EventKind.EXPORTED, at=now, actor=actor) for pk in ids]
        )
    return data
