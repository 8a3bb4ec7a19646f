"""A service's rules decide which times are free: a change in the Django admin goes through the catalogue's
action (services/actions.py), whose commit drops every cached answer about free times (issue 9)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from services.models import Service
from tests.support.admin import admin_url
from tests.support.desk import sign_in
from tests.support.public_flow import first_times_url, starts_on
from tests.support.urls import reverse


@pytest.fixture
def admin(client, admin_user):
    return sign_in(client, admin_user)  # password and second factor, as the admin site asks


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def service_post_data(service: Service, **changes) -> dict:
    fields = [
        "is_active",
        "display_order",
        "name_en",
        "description_en",
        "what_to_bring_en",
        "name_nl",
        "description_nl",
        "what_to_bring_nl",
        "duration_minutes",
        "max_persons",
        "requires_municipality",
        "minimum_notice_minutes",
        "booking_horizon_days",
        "ind_product_key",
    ]
    data = {name: getattr(service, name) for name in fields}
    data.update(changes)
    return {name: ("on" if value is True else value) for name, value in data.items() if value is not False}


def test_a_longer_service_in_the_admin_drops_the_shared_free_times(
    admin, desk, service, django_capture_on_commit_callbacks
):
    visitor = Client()
    times_url = first_times_url(
        visitor, reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    )
    before = starts_on(visitor, times_url)  # now shared with every visitor under the current versions
    longer = service.duration_minutes * 2
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            admin_url(Service, "change", service.pk), service_post_data(service, duration_minutes=longer)
        )
    assert response.status_code == 302 and response.url == admin_url(Service, "changelist")
    service.refresh_from_db()
    assert service.duration_minutes == longer
    after = starts_on(Client(), times_url)
    assert after != before  # the last starts of each opening interval no longer fit
    assert set(after) < set(before)


def test_a_service_saved_behind_the_actions_back_would_leave_the_times_stale(desk, service):
    """The naive twin: the same change saved straight to the database bumps nothing, and visitors keep being
    shown the times of the old rules (until EXPATDESK_SLOT_CACHE_SECONDS pass) — why the admin saves through
    the action."""
    visitor = Client()
    times_url = first_times_url(
        visitor, reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    )
    before = starts_on(visitor, times_url)
    Service.objects.filter(pk=service.pk).update(duration_minutes=service.duration_minutes * 2)
    assert starts_on(Client(), times_url) == before


def test_an_unused_service_is_deleted_through_the_action(admin, django_capture_on_commit_callbacks):
    spare = Service.objects.create(code="spare", name_en="Spare", name_nl="Reserve", duration_minutes=15)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin.post(admin_url(Service, "delete", spare.pk), {"post": "yes"})
    assert response.status_code == 302 and response.url == admin_url(Service, "changelist")
    assert not Service.objects.filter(pk=spare.pk).exists()
    assert len(callbacks) == 1  # the catalogue's version bump
