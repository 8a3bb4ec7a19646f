"""Anonymisation of what insights keeps about an appointment: called by bookings' anonymisation action
inside its transaction (settings.EXPATDESK_ANONYMISATION_HOOKS), so the comment goes with the names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from insights.models import Feedback


def erase_feedback_of(*, appointment_ids: Sequence[int], now: datetime) -> int:
    """The comments go (free text: it may hold anything); the score stays, a statistic like the service
    and the date. Returns how many comments were erased."""
    return (
        Feedback.objects.filter(appointment_id__in=appointment_ids)
        .exclude(comment="")
        .update(comment="", updated_at=now)
    )


def export_feedback_of(*, appointment_ids: Sequence[int]) -> dict[int, dict]:
    """For a data request: the score and comment given for each of these appointments (one query)."""
    return {
        appointment_id: {
            "feedback": {"score": score, "comment": comment, "given_at": created_at.isoformat()},
        }
        for appointment_id, score, comment, created_at in Feedback.objects.filter(
            appointment_id__in=appointment_ids
        ).values_list("appointment_id", "score", "comment", "created_at")
    }
