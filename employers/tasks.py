"""Thin Celery tasks for the employer e-mails: ids (and a language code) in, never an address or a name."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model

from employers import emails
from employers.models import Employer

logger = logging.getLogger(__name__)

SMTP_ERRORS = (smtplib.SMTPException, OSError)

# What each kind sends, given the employer.
BY_EMPLOYER = {
    "sign_up": (emails.request_received, emails.new_request),
    "approved": (emails.approved,),
}


@shared_task(
    autoretry_for=SMTP_ERRORS,
    retry_backoff=settings.EXPATDESK_EMAIL_RETRY_SECONDS,
    retry_backoff_max=3600,
    max_retries=settings.EXPATDESK_EMAIL_MAX_RETRIES,
    acks_late=True,
)
def send_employer_email(kind: str, object_id: int, language: str = "") -> int:
    """Send the e-mails of `kind` ("sign_up", "approved": an employer's id; "address_taken": a user's id).
    Returns how many messages went out."""
    if kind == "address_taken":
        user = get_user_model().objects.filter(pk=object_id).first()
        notices = [emails.address_taken(email=user.email, language=language)] if user and user.email else []
    else:
        employer = Employer.objects.filter(pk=object_id).first()
        notices = [build(employer) for build in BY_EMPLOYER[kind]] if employer else []
    sent = 0
    for notice in notices:
        if notice.to:
            emails.build_message(notice).send(fail_silently=False)
            sent += 1
    logger.info("Employer e-mail %s for %s: %d sent", kind, object_id, sent)
    return sent
