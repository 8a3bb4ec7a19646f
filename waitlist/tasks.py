"""Thin Celery tasks of the waitlist: ids only as arguments, `now` read here and passed in."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from waitlist import actions, emails
from waitlist.models import MessageStatus

logger = logging.getLogger(__name__)


@shared_task
def offer_freed_time_task() -> int:
    """Beat, every minute: the safety net of the capacity-freed hook (waitlist/actions.py)."""
    return actions.scan_waitlist(now=timezone.now())


@shared_task
def anonymise_waitlist_task() -> int:
    """Beat, daily: erase the personal data of entries ended more than EXPATDESK_ANONYMISE_AFTER_DAYS ago."""
    total = 0
    while True:
        done = actions.anonymise_entries(now=timezone.now(), limit=actions.ANONYMISE_BATCH)
        total += done
        if done < actions.ANONYMISE_BATCH:
            return total


@shared_task
def sweep_waitlist_messages() -> int:
    """Beat: queue again the e-mails whose task was lost."""
    return actions.requeue_messages(now=timezone.now())


@shared_task(bind=True, acks_late=True)
def send_waitlist_message(self, message_id: int) -> str:
    """Send one waitlist e-mail once: claim it, issue its link's token, send, record the outcome."""
    from bookings.tasks import SMTP_ERRORS, describe_error, retry_delay

    message = actions.claim_message(message_id=message_id, now=timezone.now())
    if message is None:
        return "not claimed"
    if not emails.should_send(message):
        actions.finish_message(message=message, status=MessageStatus.SKIPPED, now=timezone.now())
        return "skipped"
    token = actions.issue_message_token(message=message)
    try:
        emails.build_message(message, token=token, now=timezone.now()).send(fail_silently=False)
    except SMTP_ERRORS as error:
        reason = describe_error(error)
        if self.request.retries >= settings.EXPATDESK_EMAIL_MAX_RETRIES:
            actions.finish_message(message=message, status=MessageStatus.FAILED, error=reason, now=timezone.now())
            return "failed"
        actions.finish_message(message=message, status=MessageStatus.PENDING, error=reason, now=timezone.now())
        delay = retry_delay(self.request.retries)
        return self.retry(
            exc=error,
            countdown=delay,
            max_retries=settings.EXPATDESK_EMAIL_MAX_RETRIES,
            throw=not self.request.is_eager,
        )
    except Exception as error:
        actions.finish_message(
            message=message, status=MessageStatus.FAILED, error=describe_error(error), now=timezone.now()
        )
        raise
    actions.finish_message(message=message, status=MessageStatus.SENT, now=timezone.now())
    return "sent"
