"""Thin Celery tasks: they call actions and own the retries. Arguments are ids only."""

from celery import shared_task
from django.utils import timezone

from bookings import actions


@shared_task
def expire_holds_task() -> int:
    return actions.expire_holds(now=timezone.now())
