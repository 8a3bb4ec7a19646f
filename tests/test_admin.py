"""The Django admin: every page loads, search works, and appointments change only through actions."""

from datetime import date, datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings import actions
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Closure,
    CounterBlock,
    EventKind,
    Location,
    OpeningHours,
    OutboxEmail,
    SlotClaim,
)
from tests.support.admin import admin_url, location_post_data, management_forms_for_existing
from tests.support.desk import sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import LocationFactory

pytestmark = pytest.mark.django_db

TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)


def book(
    desk,
    service,
    now,
    *,
    start=TUESDAY_9,
    names=(("Søren", "Østergaard"), ("Ida", "Østergaard")),
    email="soren.ostergaard@example.org",
):
    return actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[actions.PersonName(first_name=first, last_name=last) for first, last in names],
        contact_email=email,
        now=now,
    ).appointment


@pytest.fixture
def admin_client(client, admin_user):
    return sign_in(client, admin_user)


@pytest.fixture
def appointment(desk, service, monday_morning):
    return book(desk, service, monday_morning)


@pytest.fixture
def one_of_each(desk, service, appointment, monday_morning, admin_user):
    """At least one row of every model the admin registers."""
    Closure.objects.create(location=None, start_date=date(2026, 12, 24), end_date=date(2026, 12, 24), reason="Xmas")
    Closure.objects.create(location=desk, start_date=date(2026, 12, 8), end_date=date(2026, 12, 8), reason="Training")
    OutboxEmail.objects.get_or_create(
        appointment=appointment, kind="confirmation", defaults={"created_at": monday_morning}
    )
    Group.objects.create(name="Desk staff")
    actions.block_counter(
        counter=desk.counters.get(name="Counter 3"),
        start=datetime(2026, 12, 2, 9, 0, tzinfo=AMSTERDAM),
        end=datetime(2026, 12, 2, 10, 0, tzinfo=AMSTERDAM),
        reason="Broken printer",
        now=monday_morning,
        actor=admin_user,
    )
    return appointment


def test_every_registered_model_has_a_working_changelist_and_change_page(admin_client, one_of_each):
    registered = list(admin.site._registry)
    assert {Appointment, Location, Closure, OutboxEmail, CounterBlock} <= set(registered)
    for model in registered:
        response = admin_client.get(admin_url(model, "changelist"))
        assert response.status_code == 200, model
        obj = model._default_manager.first()
        if obj is None:
            # Our own models and the accounts must have a row here; a third-party model may be empty.
            assert model._meta.app_label not in {"bookings", "services", "auth"}, f"no {model.__name__} to open"
            continue
        response = admin_client.get(admin_url(model, "change", obj.pk))
        assert response.status_code == 200, model
        model_admin = admin.site._registry[model]
        if model_admin.has_add_permission(response.wsgi_request):
            assert admin_client.get(admin_url(model, "add")).status_code == 200, model
    assert admin_client.get(reverse("admin:index")).status_code == 200


def test_admin_site_is_titled_for_the_desk(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert "ExpatDesk administration" in response.content.decode()


def test_location_page_shows_counters_hours_and_closures_inline(admin_client, desk, service):
    Closure.objects.create(location=desk, start_date=date(2026, 12, 8), end_date=date(2026, 12, 8), reason="Training")

    response = admin_client.get(admin_url(Location, "change", desk.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="counters-TOTAL_FORMS" value="3"' in page
    assert 'name="opening_hours-TOTAL_FORMS" value="6"' in page
    assert 'name="closures-TOTAL_FORMS" value="1"' in page
    # The services a counter offers are plain checkboxes.
    assert f'type="checkbox" name="counters-0-services" value="{service.pk}"' in page
    assert "Training" in page


def test_location_list_counts_active_counters(admin_client, desk):
    desk.counters.filter(name="Counter 3").update(is_active=False)

    response = admin_client.get(admin_url(Location, "changelist"))

    location = response.context["cl"].result_list[0]
    assert location._active_counters == 2


def test_an_admin_adds_a_counter_and_opening_hours_on_the_location_page(admin_client, service):
    location = LocationFactory()
    data = location_post_data(
        location,
        **{
            "counters-TOTAL_FORMS": "1",
            "counters-0-name": "Counter A",
            "counters-0-services": [str(service.pk)],
            "counters-0-is_active": "on",
            "opening_hours-TOTAL_FORMS": "1",
            "opening_hours-0-weekday": "4",
            "opening_hours-0-start_time": "09:00",
            "opening_hours-0-end_time": "12:00",
        },
    )

    response = admin_client.post(admin_url(Location, "change", location.pk), data)

    assert response.status_code == 302
    counter = location.counters.get()
    assert (counter.name, list(counter.services.all())) == ("Counter A", [service])
    assert list(location.opening_hours.values_list("weekday", flat=True)) == [4]


def test_opening_hours_that_close_before_they_open_get_a_plain_error(admin_client):
    location = LocationFactory()
    data = location_post_data(
        location,
        **{
            "opening_hours-TOTAL_FORMS": "1",
            "opening_hours-0-weekday": "1",
            "opening_hours-0-start_time": "13:00",
            "opening_hours-0-end_time": "09:00",
        },
    )

    response = admin_client.post(admin_url(Location, "change", location.pk), data)

    assert response.status_code == 200
    assert "The closing time must be after the opening time." in response.content.decode()
    assert not OpeningHours.objects.filter(location=location).exists()


def test_a_closure_that_ends_before_it_starts_gets_a_plain_error(admin_client):
    response = admin_client.post(
        admin_url(Closure, "add"), {"start_date": "2026-12-10", "end_date": "2026-12-09", "reason": "Move"}
    )

    assert response.status_code == 200
    assert "The last closed day cannot be before the first." in response.content.decode()
    assert not Closure.objects.exists()


@pytest.mark.parametrize("all_locations", [False, True])
def test_a_closure_on_a_day_with_appointments_is_refused(admin_client, appointment, desk, all_locations):
    data = {"start_date": "2026-11-30", "end_date": "2026-12-01", "reason": "Move"}
    if not all_locations:
        data["location"] = str(desk.pk)

    response = admin_client.post(admin_url(Closure, "add"), data)

    assert response.status_code == 200
    content = response.content.decode()
    # The refusal lists the references, as the opening-hours refusal does (issue 11).
    assert f"1 appointment falls on these days: {appointment.reference} (01-12-2026 09:00)" in content
    assert "Move or cancel it first" in content
    assert not Closure.objects.exists()


def test_a_closure_on_the_location_page_is_refused_on_a_day_with_appointments(admin_client, appointment, desk):
    data = location_post_data(
        desk,
        **{
            "closures-TOTAL_FORMS": "1",
            "closures-0-start_date": "2026-12-01",
            "closures-0-end_date": "2026-12-01",
            "closures-0-reason": "Training",
        },
    )
    data |= management_forms_for_existing(desk)

    response = admin_client.post(admin_url(Location, "change", desk.pk), data)

    assert response.status_code == 200
    assert f"1 appointment falls on these days: {appointment.reference}" in response.content.decode()
    assert not Closure.objects.exists()


def test_a_closure_of_another_location_is_not_held_up_by_this_ones_appointments(admin_client, appointment, service):
    other = LocationFactory()
    closure = {
        "closures-TOTAL_FORMS": "1",
        "closures-0-start_date": "2026-12-01",
        "closures-0-end_date": "2026-12-01",
        "closures-0-reason": "Training",
    }

    changed = admin_client.post(admin_url(Location, "change", other.pk), location_post_data(other, **closure))
    new = LocationFactory.build()
    added = admin_client.post(admin_url(Location, "add"), location_post_data(new, **closure))

    assert (changed.status_code, added.status_code) == (302, 302)
    assert sorted(Closure.objects.values_list("location__short_code", flat=True)) == sorted(
        [other.short_code, new.short_code]
    )


def test_a_closure_on_a_free_day_is_saved(admin_client, appointment, desk):
    response = admin_client.post(
        admin_url(Closure, "add"),
        {"location": str(desk.pk), "start_date": "2026-12-02", "end_date": "2026-12-03", "reason": "Training"},
    )

    assert response.status_code == 302
    assert Closure.objects.get().reason == "Training"


@pytest.mark.parametrize("query", ["Østergaard", "ida", "soren.ostergaard@example.org"])
def test_appointment_search_by_name_and_email(admin_client, desk, service, monday_morning, appointment, query):
    other = book(desk, service, monday_morning, names=[("Wei", "Wang")], email="wei.wang@example.org")

    response = admin_client.get(admin_url(Appointment, "changelist"), {"q": query})

    page = response.content.decode()
    assert response.status_code == 200
    assert [row.reference for row in response.context["cl"].result_list] == [appointment.reference]
    assert appointment.reference in page
    assert other.reference not in page


def test_appointment_search_by_reference(admin_client, desk, service, monday_morning, appointment):
    other = book(desk, service, monday_morning, names=[("Wei", "Wang")], email="wei.wang@example.org")

    response = admin_client.get(admin_url(Appointment, "changelist"), {"q": other.reference})

    page = response.content.decode()
    assert other.reference in page
    assert "Wei Wang" in page  # the names column
    assert appointment.reference not in page


def test_service_search(admin_client, service):
    response = admin_client.get(reverse("admin:services_service_changelist"), {"q": service.name_nl})
    assert service.code in response.content.decode()
    response = admin_client.get(reverse("admin:services_service_changelist"), {"q": "no-such-service"})
    assert service.code not in response.content.decode()


def test_appointment_filters(admin_client, appointment, service, desk):
    url = admin_url(Appointment, "changelist")
    for params in (
        {"status__exact": "booked"},
        {"when": "upcoming"},
        {"when": "past"},
        {"service__id__exact": service.pk},
        {"location__id__exact": desk.pk},
    ):
        assert admin_client.get(url, params).status_code == 200, params
    assert appointment.reference in admin_client.get(url, {"status__exact": "booked"}).content.decode()
    assert appointment.reference not in admin_client.get(url, {"status__exact": "cancelled"}).content.decode()


def cancel_post(ids, **extra) -> dict:
    return {"action": "cancel_selected", "_selected_action": [str(pk) for pk in ids], **extra}


def test_cancel_action_asks_first_then_cancels_through_the_action_and_frees_the_counters(
    admin_client, admin_user, appointment
):
    url = admin_url(Appointment, "changelist")
    assert SlotClaim.objects.filter(appointment=appointment).count() == 2

    confirm_page = admin_client.post(url, cancel_post([appointment.pk]))

    assert confirm_page.status_code == 200
    assert appointment.reference in confirm_page.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED

    response = admin_client.post(url, cancel_post([appointment.pk], confirm="yes"), follow=True)

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_at is not None
    assert not SlotClaim.objects.filter(appointment=appointment).exists()
    event = AppointmentEvent.objects.get(appointment=appointment, kind=EventKind.CANCELLED)
    assert event.actor == admin_user
    assert OutboxEmail.objects.filter(appointment=appointment, kind="cancellation").exists()
    assert "1 appointment cancelled" in response.content.decode()


def test_cancelling_an_already_cancelled_appointment_reports_the_booking_error(admin_client, appointment):
    url = admin_url(Appointment, "changelist")
    admin_client.post(url, cancel_post([appointment.pk], confirm="yes"))

    response = admin_client.post(url, cancel_post([appointment.pk], confirm="yes"), follow=True)

    page = response.content.decode()
    assert f"{appointment.reference}: This appointment can no longer be cancelled." in page
    assert AppointmentEvent.objects.filter(appointment=appointment, kind=EventKind.CANCELLED).count() == 1


def test_counter_blocks_are_read_only_in_the_admin(admin_client, one_of_each):
    block = CounterBlock.objects.get()

    assert admin_client.get(admin_url(CounterBlock, "add")).status_code == 403
    assert admin_client.post(admin_url(CounterBlock, "delete", block.pk), {"post": "yes"}).status_code == 403
    assert admin_client.post(admin_url(CounterBlock, "change", block.pk), {"reason": "x"}).status_code == 403
    assert "Broken printer" in admin_client.get(admin_url(CounterBlock, "changelist")).content.decode()
    assert CounterBlock.objects.get().reason == "Broken printer"


def test_appointments_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, appointment):
    assert admin_client.get(admin_url(Appointment, "add")).status_code == 403
    assert admin_client.get(admin_url(Appointment, "delete", appointment.pk)).status_code == 403
    assert admin_client.post(admin_url(Appointment, "delete", appointment.pk), {"post": "yes"}).status_code == 403
    assert admin_client.post(admin_url(Appointment, "change", appointment.pk), {"persons": "1"}).status_code == 403
    changelist = admin_client.get(admin_url(Appointment, "changelist"))
    assert "delete_selected" not in changelist.content.decode()
    admin_client.post(
        admin_url(Appointment, "changelist"),
        {"action": "delete_selected", "_selected_action": [str(appointment.pk)], "post": "yes"},
    )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.persons == 2


def test_change_page_is_read_only_and_shows_people_history_and_email(admin_client, appointment, monday_morning):
    OutboxEmail.objects.get_or_create(
        appointment=appointment, kind="confirmation", defaults={"created_at": monday_morning}
    )

    response = admin_client.get(admin_url(Appointment, "change", appointment.pk))

    page = response.content.decode()
    assert 'name="persons"' not in page
    assert "Søren" in page and "Østergaard" in page
    assert "History" in page
    assert "Counter 1" in page  # the counter time it holds
    assert "confirmation" in page
    assert appointment.manage_token_hash not in page


def test_a_user_who_may_only_view_appointments_cannot_cancel(client, appointment):
    viewer = User.objects.create_user(username="viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_appointment"))
    sign_in(client, viewer)
    url = admin_url(Appointment, "changelist")

    assert "cancel_selected" not in client.get(url).content.decode()
    client.post(url, cancel_post([appointment.pk], confirm="yes"))

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_appointment_changelist_costs_the_same_queries_whatever_the_number_of_rows(
    admin_client, desk, service, monday_morning, django_assert_num_queries
):
    url = admin_url(Appointment, "changelist")
    book(desk, service, monday_morning)
    admin_client.get(url)  # warm up the session and content types
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url)
    for minute in range(15, 150, 15):
        start = TUESDAY_9.replace(minute=minute % 60, hour=9 + minute // 60)
        book(desk, service, monday_morning, start=start, names=[("Ana", "Popescu")])
    assert Appointment.objects.count() == 10

    with django_assert_num_queries(len(one_row)):
        admin_client.get(url)


@pytest.mark.parametrize(
    ("language", "shown", "not_shown"),
    [("en", "1 Dec 2026, 09:00", "a.m."), ("nl", "1 december 2026 09:00", "a.m.")],
)
def test_the_admin_shows_dates_in_the_users_language(admin_client, appointment, language, shown, not_shown):
    response = admin_client.get(admin_url(Appointment, "changelist"), headers={"accept-language": language})

    content = response.content.decode()
    assert shown in content
    assert not_shown not in content
