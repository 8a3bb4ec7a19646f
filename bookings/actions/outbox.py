"""The e-mail outbox: rows written with the change, claimed once, finished by the worker that claimed them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q

from bookings.actions.common import (
    _send_after_commit,
    _write_email,
)
from bookings.emails import LIVE_KINDS
from bookings.models import (
    BOOKED_STATUSES,
    Appointment,
    AppointmentStatus,
    EmailKind,
    OutboxEmail,
    OutboxStatus,
)
from bookings.tokens import hash_token, new_manage_token

# ---- e-mail outbox --------------------------------------------------------------------------

# "Find my booking" sends the manage link at most once in this interval, however often it is asked.
MANAGE_LINK_RESEND_INTERVAL = timedelta(minutes=5)


def _outbox_stale_after() -> timedelta:
    """A row claimed this long ago without an outcome belongs to a worker that died: it may be claimed
    again (EXPATDESK_OUTBOX_STALE_SECONDS)."""
    return timedelta(seconds=settings.EXPATDESK_OUTBOX_STALE_SECONDS)


def _outbox_requeue_after() -> timedelta:
    """A pending row this old whose task has not run (Redis or the worker was down) is queued again
    (EXPATDESK_OUTBOX_REQUEUE_SECONDS)."""
    return timedelta(seconds=settings.EXPATDESK_OUTBOX_REQUEUE_SECONDS)


# Hard cap over every path (retries and re-claims of stale rows): a row is never tried more often.
OUTBOX_MAX_ATTEMPTS = 10


def resend_manage_link(*, appointment: Appointment, now: datetime) -> OutboxEmail | None:
    """Send the manage link again ("find my booking"). Each resend is a new revision of the
    MANAGE_LINK kind, so the unique constraint still makes every send happen once. Returns None
    (and sends nothing) for a booking that is not live or has no e-mail, or when the link was sent
    moments ago; the caller answers the same either way."""
    with transaction.atomic(durable=True):
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN) or not locked.contact_email:
            return None
        last = OutboxEmail.objects.filter(appointment=locked, kind=EmailKind.MANAGE_LINK).order_by("-revision").first()
        if last is not None and last.created_at > now - MANAGE_LINK_RESEND_INTERVAL:
            return None
        return _write_email(
            appointment=locked,
            kind=EmailKind.MANAGE_LINK,
            revision=(last.revision + 1) if last else 1,
            now=now,
        )


def queue_feedback_request(*, appointment: Appointment, now: datetime) -> OutboxEmail | None:
    """Inside the caller's transaction (an appointment just marked done): write its one FEEDBACK row, due
    EXPATDESK_FEEDBACK_DELAY_MINUTES from now. No task is queued now: the row waits with `next_attempt_at`
    set, and the outbox sweep (requeue_outbox, every minute) queues it once that has passed, as it does a
    retry; never an ETA task (DESIGN.md §5). Unique per appointment (revision 0); none without an e-mail
    address. The e-mail is rendered by bookings.emails; its score links lead to the insights app's pages."""
    if not appointment.contact_email or appointment.status != AppointmentStatus.DONE:
        return None
    due = now + timedelta(minutes=settings.EXPATDESK_FEEDBACK_DELAY_MINUTES)
    created = OutboxEmail.objects.bulk_create(
        [
            OutboxEmail(
                appointment=appointment, kind=EmailKind.FEEDBACK, revision=0, created_at=now, next_attempt_at=due
            )
        ],
        ignore_conflicts=True,
    )
    return created[0] if created else None


def queue_due_reminders(*, now: datetime) -> int:
    """Write a REMINDER row for every booking starting within EXPATDESK_REMINDER_HOURS that has none.

    Unique per appointment (revision 0): however often the scan runs, a booking gets one reminder.
    A booking made inside the window gets none: its confirmation has just told the same. Returns the
    number of reminders queued.
    """
    window = timedelta(hours=settings.EXPATDESK_REMINDER_HOURS)
    with transaction.atomic(durable=True):
        due = list(
            Appointment.objects.filter(
                status=AppointmentStatus.BOOKED,
                start__gt=now,
                start__lte=now + window,
                booked_at__lt=F("start") - window,
            )
            .exclude(contact_email="")
            .exclude(Exists(OutboxEmail.objects.filter(appointment=OuterRef("pk"), kind=EmailKind.REMINDER)))
            .values_list("pk", flat=True)
        )
        if not due:
            return 0
        # A scan running at the same moment may have written some of them: the constraint keeps one.
        OutboxEmail.objects.bulk_create(
            [OutboxEmail(appointment_id=pk, kind=EmailKind.REMINDER, revision=0, created_at=now) for pk in due],
            ignore_conflicts=True,
        )
        queued = list(
            OutboxEmail.objects.filter(
                appointment_id__in=due, kind=EmailKind.REMINDER, created_at=now, status=OutboxStatus.PENDING
            ).values_list("pk", flat=True)
        )
        for email_id in queued:
            _send_after_commit(email_id)
    return len(queued)


def claim_outbox_email(*, email_id: int, now: datetime) -> OutboxEmail | None:
    """Claim a row for sending: pending, or 'sending' but abandoned. One UPDATE, so of two workers
    holding the same id only one gets it; the other gets None and sends nothing."""
    with transaction.atomic(durable=True):
        claimed = (
            OutboxEmail.objects.filter(pk=email_id, attempts__lt=OUTBOX_MAX_ATTEMPTS)
            .filter(
                Q(status=OutboxStatus.PENDING)
                | Q(status=OutboxStatus.SENDING, claimed_at__lt=now - _outbox_stale_after())
            )
            .update(status=OutboxStatus.SENDING, claimed_at=now, next_attempt_at=None, attempts=F("attempts") + 1)
        )
        if not claimed:
            return None
        return OutboxEmail.objects.select_related("appointment__service", "appointment__location").get(pk=email_id)


def issue_email_manage_token(*, email: OutboxEmail) -> str:
    """A fresh random token for the link of a claimed e-mail: the manage link of an e-mail about a live
    booking, or the score links of a feedback request. Its hash is kept on the row (a manage link's opens
    the booking as the booking's own token does; a feedback link's only the feedback pages, never the
    manage page), the token goes only into the message. Each attempt gets its own (an earlier attempt's
    message never arrived). Returns "" for an e-mail without a link, or a row that is no longer this
    worker's claim."""
    if email.kind not in (*LIVE_KINDS, EmailKind.FEEDBACK):
        return ""
    token = new_manage_token()
    with transaction.atomic(durable=True):
        issued = OutboxEmail.objects.filter(
            pk=email.pk, status=OutboxStatus.SENDING, claimed_at=email.claimed_at
        ).update(manage_token_hash=hash_token(token))
    return token if issued else ""


def issue_bundled_manage_tokens(*, email: OutboxEmail, now: datetime) -> dict[int, str]:
    """For a claimed "find my booking" e-mail: a fresh manage token for each other live booking of its
    address, listed in the same message. Each token's hash is kept on a row of its own (a MANAGE_LINK row
    recorded as sent with this message), as every e-mail's link is: the booking's id → its token."""
    if email.kind != EmailKind.MANAGE_LINK:
        return {}
    appointment = email.appointment
    tokens: dict[int, str] = {}
    with transaction.atomic(durable=True):
        if not OutboxEmail.objects.filter(
            pk=email.pk, status=OutboxStatus.SENDING, claimed_at=email.claimed_at
        ).exists():
            return {}
        others = Appointment.objects.filter(
            contact_email__iexact=appointment.contact_email.strip(), status__in=BOOKED_STATUSES, end__gt=now
        ).exclude(pk=appointment.pk)
        for booking in others:
            token = new_manage_token()
            revision = (
                OutboxEmail.objects.filter(appointment=booking, kind=EmailKind.MANAGE_LINK).aggregate(
                    last=Max("revision")
                )["last"]
                or 0
            ) + 1
            OutboxEmail.objects.create(
                appointment=booking,
                kind=EmailKind.MANAGE_LINK,
                revision=revision,
                status=OutboxStatus.SENT,
                created_at=now,
                sent_at=now,
                manage_token_hash=hash_token(token),
            )
            tokens[booking.pk] = token
    return tokens


def finish_outbox_email(
    *, email: OutboxEmail, status: str, now: datetime, error: str = "", retry_at: datetime | None = None
) -> bool:
    """Record the outcome of a claimed send: SENT, SKIPPED, FAILED, or PENDING again with `retry_at`.

    Only the claimer may record it (the row must still carry its claim). `error` must never hold
    personal data: the exception's class and SMTP code, not its message. Returns whether it was recorded.
    """
    fields: dict = {"status": status, "next_attempt_at": retry_at}
    if status == OutboxStatus.SENT:
        fields["sent_at"] = now
        fields["last_error"] = ""
    elif error:
        fields["last_error"] = error[:300]
    with transaction.atomic(durable=True):
        return bool(
            OutboxEmail.objects.filter(pk=email.pk, status=OutboxStatus.SENDING, claimed_at=email.claimed_at).update(
                **fields
            )
        )


def queue_new_outbox(*, page: int = 500) -> int:
    """Queue the send task for every row never attempted and not waiting for a due time (a feedback request,
    a retry): the delayed task of a burst of commits (bookings/outbox_kick.py), `page` rows a query. No
    database writes: the task claims, so a row queued here and by its own commit is sent once. Returns how
    many were queued."""
    from bookings.tasks import send_outbox_email

    new = OutboxEmail.objects.filter(status=OutboxStatus.PENDING, attempts=0, next_attempt_at__isnull=True)
    queued, after = 0, 0
    while ids := list(new.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:page]):
        for email_id in ids:
            send_outbox_email.delay(email_id)
        queued, after = queued + len(ids), ids[-1]
        if len(ids) < page:
            break
    return queued


def requeue_outbox(*, now: datetime, limit: int = 500) -> int:
    """Queue the send task again for rows whose task was lost: pending for over a minute (and not
    waiting for a retry), or claimed by a worker that died. No database writes: the task claims."""
    from bookings.tasks import send_outbox_email

    lost = OutboxEmail.objects.filter(attempts__lt=OUTBOX_MAX_ATTEMPTS).filter(
        Q(
            status=OutboxStatus.PENDING,
            created_at__lte=now - _outbox_requeue_after(),
        )
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - _outbox_requeue_after()))
        | Q(status=OutboxStatus.SENDING, claimed_at__lt=now - _outbox_stale_after())
    )
    ids = list(lost.order_by("pk").values_list("pk", flat=True)[:limit])
    for email_id in ids:
        send_outbox_email.delay(email_id)
    return len(ids)
