"""Where the suite runs: the time zone of the desks, and whether a missing service skips or fails (CI)."""

import os
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip on a developer's machine that lacks a service; fail in CI, where nothing may be skipped."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def uses_postgresql() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def weekday_ahead(weekday: int, *, days: int) -> date:
    """The first `weekday` (0 is Monday) at least `days` days after today at the desks, by the real clock: for
    the tests of pages and admin forms that read it."""
    first = timezone.localdate(timezone=AMSTERDAM) + timedelta(days=days)
    return first + timedelta(days=(weekday - first.weekday()) % 7)
