"""Thin Celery tasks of insights: they call actions with `now`."""

from celery import shared_task
from django.utils import timezone

from insights import actions


@shared_task
def record_first_free_days_task() -> int:
    """Beat, hourly: the day's days-to-first-free-slot record per location and service (once a day)."""
    return actions.record_first_free_days(now=timezone.now()).written
