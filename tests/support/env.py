"""Where the suite runs: the time zone of the desks, and whether a missing service skips or fails (CI)."""

import os
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

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


def snapshot_queries() -> int:
    """What a location's availability snapshot costs: counters, opening hours and closures in one statement on
    PostgreSQL (bookings/availability.py _CONFIG_SQL), three queries elsewhere; then the claims."""
    return 2 if uses_postgresql() else 4
