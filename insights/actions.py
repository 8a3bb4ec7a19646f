"""Every write of the insights app: scores and comments given through a feedback link, and the daily
days-to-first-free-slot record. Each public action is one `transaction.atomic(durable=True)` block and
refuses bad requests with `FeedbackError` (a stable code, a translated message, an HTTP status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings.availability import first_free_days
from bookings.models import Appointment, Location, OutboxEmail
from insights.models import COMMENT_MAX_LENGTH, SCORE_MAX, SCORE_MIN, Feedback, FirstFreeDayRecord
from insights.selectors import feedback_request_for_token, services_offered_at
from services.models import Service


class FeedbackError(Exception):
    UNKNOWN_LINK = "unknown_link"  # wrong or altered token, or the appointment was anonymised
    EXPIRED_LINK = "expired_link"
    CLOSED = "closed"  # the score was given more than a day ago
    INVALID_SCORE = "invalid_score"
    INVALID_COMMENT = "invalid_comment"
    NO_SCORE = "no_score"  # a comment before any score

    STATUS = {
        UNKNOWN_LINK: 404,
        EXPIRED_LINK: 410,
        CLOSED: 409,
        INVALID_SCORE: 400,
        INVALID_COMMENT: 400,
        NO_SCORE: 409,
    }

    def __init__(self, code: str, message) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return self.STATUS[self.code]


def _unknown() -> FeedbackError:
    return FeedbackError(
        FeedbackError.UNKNOWN_LINK, _("This feedback link is not valid. Please check that it was copied completely.")
    )


def _expired() -> FeedbackError:
    return FeedbackError(FeedbackError.EXPIRED_LINK, _("This feedback link has expired. Thank you all the same."))


def link_expires_at(request: OutboxEmail) -> datetime:
    return request.sent_at + timedelta(days=settings.EXPATDESK_FEEDBACK_LINK_DAYS)


def change_closes_at(feedback: Feedback) -> datetime:
    return feedback.created_at + timedelta(hours=settings.EXPATDESK_FEEDBACK_CHANGE_HOURS)


def check_feedback_link(*, token: str, now: datetime) -> OutboxEmail:
    """The sent feedback request this token belongs to, or FeedbackError (404 unknown, 410 expired)."""
    request = feedback_request_for_token(token=token)
    if request is None:
        raise _unknown()
    if now > link_expires_at(request):
        raise _expired()
    return request


def _lock(*, token: str, now: datetime) -> tuple[OutboxEmail, Feedback | None]:
    """Inside the transaction: the link's request, its appointment row locked (two clicks of the same
    e-mail at once give one Feedback row: the second waits and then sees the first), and its feedback."""
    request = check_feedback_link(token=token, now=now)
    Appointment.objects.select_for_update(of=("self",)).filter(pk=request.appointment_id).first()
    return request, Feedback.objects.filter(appointment_id=request.appointment_id).first()


def closed_error(feedback: Feedback) -> FeedbackError:
    return FeedbackError(
        FeedbackError.CLOSED,
        _("Your score of %(score)d was recorded more than a day ago and can no longer be changed. Thank you.")
        % {"score": feedback.score},
    )


def record_score(*, token: str, score: int, now: datetime) -> Feedback:
    """Record the score clicked in a feedback e-mail: one per appointment; a second one replaces it within
    EXPATDESK_FEEDBACK_CHANGE_HOURS of the first, and is refused after that (the same score again is fine)."""
    if not isinstance(score, int) or not SCORE_MIN <= score <= SCORE_MAX:
        raise FeedbackError(FeedbackError.INVALID_SCORE, _("Please choose a score from 1 to 10."))
    with transaction.atomic(durable=True):
        request, feedback = _lock(token=token, now=now)
        if feedback is None:
            return Feedback.objects.create(
                appointment_id=request.appointment_id, score=score, created_at=now, updated_at=now
            )
        if feedback.score == score:
            return feedback
        if now > change_closes_at(feedback):
            raise closed_error(feedback)
        feedback.score = score
        feedback.updated_at = now
        feedback.save(update_fields=["score", "updated_at"])
        return feedback


def record_comment(*, token: str, comment: str, now: datetime) -> Feedback:
    """Add (or, within the change window, replace) the optional comment to a score already given."""
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise FeedbackError(
            FeedbackError.INVALID_COMMENT,
            _("Please keep your comment to %(max)d characters.") % {"max": COMMENT_MAX_LENGTH},
        )
    with transaction.atomic(durable=True):
        _request, feedback = _lock(token=token, now=now)
        if feedback is None:
            raise FeedbackError(FeedbackError.NO_SCORE, _("Please choose a score first."))
        if now > change_closes_at(feedback):
            raise FeedbackError(
                FeedbackError.CLOSED, _("Your feedback was recorded more than a day ago and can no longer be changed.")
            )
        feedback.comment = comment
        feedback.updated_at = now
        feedback.save(update_fields=["comment", "updated_at"])
        return feedback


@dataclass(frozen=True)
class RecordResult:
    written: int
    already_there: int


def record_first_free_days(*, now: datetime) -> RecordResult:
    """Beat: for every active location and each service its counters offer, the days from today to the
    first free start (from the availability engine, at `now`). One row per (location, service, local
    day): a second run on the same day writes nothing (the first record of the day stands)."""
    rows: list[FirstFreeDayRecord] = []
    for location in Location.objects.filter(is_active=True).order_by("pk"):
        services: list[Service] = services_offered_at(location=location)
        if not services:
            continue
        today = now.astimezone(location.tz).date()
        for service_id, first in first_free_days(location=location, services=services, now=now).items():
            rows.append(
                FirstFreeDayRecord(
                    location=location,
                    service_id=service_id,
                    day=today,
                    first_free_day=first,
                    days_to_first_free=(first - today).days if first is not None else None,
                    recorded_at=now,
                )
            )
    with transaction.atomic(durable=True):
        before = FirstFreeDayRecord.objects.count() if rows else 0
        FirstFreeDayRecord.objects.bulk_create(rows, ignore_conflicts=True)
        written = (FirstFreeDayRecord.objects.count() - before) if rows else 0
    return RecordResult(written=written, already_there=len(rows) - written)
