"""The desk's clock: views take `now` from here, so tests can set the time of the desk's day."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
