"""A service's rules decide which times are free: a change in the Django admin goes through the catalogue's
action (services/actions.py), whose commit drops every cached answer about free times (issue 9)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client

from services.actions import save_service_order
from services.models import Service, ServiceOrder
from services.selectors import visit_order
from tests.support.admin import admin_url
from tests.support.desk import sign_in
from tests.support.factories import ServiceFactory
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
    rules = list(service.comes_before.order_by("pk"))
    inline = {"comes_before-TOTAL_FORMS": str(len(rules)), "comes_before-INITIAL_FORMS": str(len(rules))}
    for index, rule in enumerate(rules):
        inline |= {f"comes_before-{index}-id": rule.pk, f"comes_before-{index}-later": rule.later_id}
    data.update(inline)
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


def test_the_order_of_a_visit_is_set_in_the_admin_and_a_circle_is_refused(
    admin, db, django_capture_on_commit_callbacks
):
    registration, biometrics, pickup = ServiceFactory(), ServiceFactory(), ServiceFactory()
    ServiceOrder.objects.create(earlier=biometrics, later=pickup)
    data = service_post_data(registration) | {
        "comes_before-TOTAL_FORMS": "1",
        "comes_before-0-later": biometrics.pk,
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin.post(admin_url(Service, "change", registration.pk), data)
    assert response.status_code == 302
    assert ServiceOrder.objects.filter(earlier=registration, later=biometrics).exists()
    assert callbacks  # the catalogue's version is bumped on commit: cached visit times are dropped
    assert [s.pk for s in visit_order([pickup, biometrics, registration])] == [
        registration.pk,
        biometrics.pk,
        pickup.pk,
    ]
    # pickup → registration would close the circle registration → biometrics → pickup.
    data = service_post_data(pickup) | {"comes_before-TOTAL_FORMS": "1", "comes_before-0-later": registration.pk}
    response = admin.post(admin_url(Service, "change", pickup.pk), data)
    assert response.status_code == 200
    assert "would make a circle" in response.content.decode()
    assert not ServiceOrder.objects.filter(earlier=pickup).exists()
    with pytest.raises(ValidationError):
        save_service_order(order=ServiceOrder(earlier=pickup, later=registration))
