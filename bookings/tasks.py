"""Thin Celery tasks: they load by id, call actions and emails, and own the retries.

Arguments are ids only: no personal data ever travels through Redis.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from bookings import actions, emails
from bookings.models import OutboxStatus

logger = logging.getLogger(__name__)

# What a broken mail server or network raises; anything else is a bug and is not retried.
SMTP_ERRORS = (smtplib.SMTPException, OSError)


@shared_task
def expire_holds_task() -> int:
    return actions.expire_holds(now=timezone.now())


def describe_error(error: BaseException) -> str:
    """A non-personal description: the class and SMTP code, never the message (it can hold addresses)."""
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def retry_delay(retries: int) -> int:
    """Exponential backoff in seconds: base, 2 * base, 4 * base, ... at most an hour."""
    return min(settings.EXPATDESK_EMAIL_RETRY_SECONDS * 2**retries, 3600)


@shared_task(bind=True, acks_late=True)
def send_outbox_email(self, outbox_id: int) -> str:
    """Send one outbox row once: claim it, send it, record the outcome; retry later on SMTP errors."""
    email = actions.claim_outbox_email(email_id=outbox_id, now=timezone.now())
    if email is None:
        return "not claimed"  # sent, being sent by another worker, failed for good, or unknown
    if not emails.should_send(email):
        actions.finish_outbox_email(email=email, status=OutboxStatus.SKIPPED, now=timezone.now())
        return "skipped"
    token = actions.issue_email_manage_token(email=email)
    others = actions.issue_bundled_manage_tokens(email=email, now=timezone.now())
    try:
        emails.send_outbox_email(email, manage_token=token, other_tokens=others, now=timezone.now())
    except SMTP_ERRORS as error:
        reason = describe_error(error)
        max_retries = settings.EXPATDESK_EMAIL_MAX_RETRIES
        if self.request.retries >= max_retries:
            logger.warning("Outbox e-mail %s failed for good: %s", outbox_id, reason)
            actions.finish_outbox_email(email=email, status=OutboxStatus.FAILED, error=reason, now=timezone.now())
            return "failed"
        delay = retry_delay(self.request.retries)
        now = timezone.now()
        actions.finish_outbox_email(
            email=email,
            status=OutboxStatus.PENDING,
            error=reason,
            retry_at=now + timedelta(seconds=delay),
            now=now,
        )
        logger.info("Outbox e-mail %s: %s; retry in %ss", outbox_id, reason, delay)
        # In a worker retry() raises Retry and publishes the retry with its countdown. Run eagerly
        # (the embedded default, unit tests) it returns it instead: apply() then runs the retry at once,
        # where a raised Retry would escape as an error under CELERY_TASK_EAGER_PROPAGATES.
        return self.retry(exc=error, countdown=delay, max_retries=max_retries, throw=not self.request.is_eager)
    except Exception as error:
        actions.finish_outbox_email(
            email=email, status=OutboxStatus.FAILED, error=describe_error(error), now=timezone.now()
        )
        raise
    actions.finish_outbox_email(email=email, status=OutboxStatus.SENT, now=timezone.now())
    return "sent"


@shared_task
def send_new_outbox_emails() -> int:
    """The delayed task of a burst of commits (bookings/outbox_kick.py): queue the send task of every outbox
    row never attempted."""
    return actions.queue_new_outbox()


@shared_task
def sweep_outbox() -> int:
    """Beat: queue again the rows (and "find my booking" requests) whose task was lost (Redis or the worker
    was down)."""
    now = timezone.now()
    return actions.requeue_outbox(now=now) + actions.requeue_link_requests(now=now)


@shared_task
def answer_link_request_task(request_id: int) -> str:
    """Answer one "find my booking" request: e-mail the links of the address's bookings, if it has any."""
    actions.answer_link_request(request_id=request_id, now=timezone.now())
    return "answered"


@shared_task
def send_due_reminders() -> int:
    """Beat: write (and queue) the reminders of bookings starting within EXPATDESK_REMINDER_HOURS."""
    return actions.queue_due_reminders(now=timezone.now())


@shared_task
def anonymise_past_appointments_task() -> int:
    """Beat, daily: erase the personal data of appointments past the retention period, in batches."""
    total = 0
    while True:
        done = actions.anonymise_past_appointments(now=timezone.now(), limit=actions.ANONYMISE_BATCH)
        total += done
        if done < actions.ANONYMISE_BATCH:
            return total


@shared_task
def prune_past_claims_task() -> int:
    """Beat, daily: delete the claims of past days (the appointments stay), in batches."""
    total = 0
    while True:
        done = actions.prune_past_claims(now=timezone.now(), limit=actions.PRUNE_BATCH)
        total += done
        if done < actions.PRUNE_BATCH:
            return total
