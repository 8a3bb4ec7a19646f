"""Staff scoped to locations (issue 12, point 3): the permission matrix of the desk and the Django admin.

Five roles (anonymous, desk staff of A, admin of A, superuser, HR staff of an employer) × every desk URL
(desk/urls.py) and every admin URL of the models that belong to a location (changelist, add, change, delete,
history and each admin action, from admin.site's registry; the personal-data request, view-on-site and
autocomplete), all aimed at location B's objects (by id and by booking reference). Nobody but the superuser
reaches B: the answer is a 404 (or the admin's "does not exist", as for a missing id), a 403 or the sign-in,
or a list that holds nothing of B, and nothing of B changes. The URLs are read from the URL configuration and
the admin registry, so a new URL, model or admin action fails here until it is covered. The queue, insights,
employer, public and API URLs, and the check that every URL of the project is classified, are in
tests/test_permission_matrix.py; the world both use is tests/support/permission_matrix.py.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from bookings import actions
from bookings.models import Appointment, Closure, Counter
from desk import clock
from desk.actions import set_staff_locations
from desk.models import AssignmentEvent, StaffAssignment
from employers.models import Employer, EmployerBooking
from queueing.models import Device, ServiceLetter, Ticket
from services.models import Service
from tests.support.admin import admin_url
from tests.support.desk import assign, make_user, sign_in
from tests.support.permission_matrix import (
    ACTION,
    B_NAME,
    DESK_TIME,
    LISTING,
    ROLES,
    TUESDAY_10,
    admin_objects,
    admin_requests,
    desk_requests,
    location_bound_models,
    make_world,
    signed_in,
    state_of_b,
)

# Desk URLs that concern no location: signing in and out (tests/test_permission_matrix.py lists every URL).
NOT_LOCATION_BOUND = {"login", "logout", "verify", "totp_setup"}


@pytest.fixture
def world(desk, service, monday_morning, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: DESK_TIME)
    return make_world(desk, service, monday_morning)


def desk_url_names() -> set[str]:
    resolver = get_resolver()
    [desk_include] = [p for p in resolver.url_patterns if isinstance(p, URLResolver) and p.namespace == "desk"]
    return {p.name for p in desk_include.url_patterns if isinstance(p, URLPattern)}


def test_every_desk_url_is_in_the_matrix(world):
    assert desk_url_names() - NOT_LOCATION_BOUND == set(desk_requests(world))


ADMIN_ONLY = {"capacity", "capacity_hours"}


@pytest.mark.parametrize("role", ROLES)
def test_desk_urls_against_location_b(client, world, role):
    signed_in(client, world, role)
    before = state_of_b(world)
    for name, requests in desk_requests(world).items():
        for method, path, data in requests:
            response = getattr(client, method)(path, data)
            where = (role, name, method, data)
            if role == "anonymous":
                assert response.status_code == 302 and response.url.startswith("/desk/login/"), where
            elif role == "hr" or (role == "staff of A" and name in ADMIN_ONLY):
                assert response.status_code == 403, where
            elif role == "superuser":
                if method == "get":
                    # A superuser sees every location (A's agenda with B's counter is the form's 400).
                    assert response.status_code == (400 if "counter" in data else 200), where
            else:
                assert response.status_code == 404, where
                assert B_NAME not in response.content.decode(), where
    if role != "superuser":
        assert state_of_b(world) == before


@pytest.mark.parametrize("role", ["staff of A", "admin of A"])
def test_staff_of_a_run_location_a(client, world, role, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: TUESDAY_10.replace(hour=9, minute=55))
    signed_in(client, world, role)
    a, appointment = world["a"], world["appointment_a"]
    html = client.get(reverse("desk:agenda"), {"location": a.pk, "day": "2026-12-01"}).content.decode()
    assert appointment.reference in html and world["appointment_b"].reference not in html
    assert client.get(reverse("desk:appointment", args=[appointment.reference])).status_code == 200
    assert client.get(reverse("desk:block", args=[world["block_a"].pk])).status_code == 200
    response = client.post(reverse("desk:appointment_check_in", args=[appointment.reference]))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "checked_in"
    assert client.get(reverse("desk:capacity"), {"location": a.pk}).status_code == (
        200 if role == "admin of A" else 403
    )


@pytest.mark.parametrize("role", ["staff of A", "admin of A"])
def test_the_agenda_search_at_a_finds_nothing_of_b(client, world, role):
    """A's agenda searched for B's booking by reference and by name (the typed text is echoed back, so the
    check is on what only a result shows: the other name, the other reference)."""
    signed_in(client, world, role)
    reference = world["appointment_b"].reference
    for query, result in ((reference, "Beatrix"), (B_NAME, reference), ("Beatrix", reference)):
        response = client.get(reverse("desk:agenda"), {"location": world["a"].pk, "day": "2026-12-01", "q": query})
        assert response.status_code == 200, query
        assert response.context["results"] == [] and result not in response.content.decode(), query
    signed_in(client, world, "superuser")
    response = client.get(reverse("desk:agenda"), {"location": world["b"].pk, "day": "2026-12-01", "q": B_NAME})
    assert reference in response.content.decode()  # the same search at B finds it


def test_a_person_at_several_locations_picks_one_and_one_at_none_is_told(client, world):
    staff = world["staff_b"]
    sign_in(client, staff)
    html = client.get(reverse("desk:agenda")).content.decode()
    assert 'type="hidden" name="location"' in html  # one location: no picker
    assign(staff, world["a"])
    html = client.get(reverse("desk:agenda")).content.decode()
    assert '<select name="location"' in html and world["a"].name in html and world["b"].name in html
    set_staff_locations(user=staff, locations=[], now=TUESDAY_10, actor=None)
    response = client.get(reverse("desk:agenda"))
    assert response.status_code == 403
    assert "No location yet" in response.content.decode()
    response = client.get(reverse("desk:agenda"), headers={"accept-language": "nl"})
    assert "Nog geen locatie" in response.content.decode()


# ---- the Django admin -------------------------------------------------------------------------


def test_every_location_bound_model_of_the_admin_is_in_the_matrix(world):
    """Every registered model that belongs to a location (by a foreign key, directly or through an
    appointment, counter, …) has B's object here; tests/test_permission_matrix.py lists the others."""
    objects = admin_objects(world)
    assert set(location_bound_models()) == set(objects)
    assert all(obj is not None for obj in objects.values())
    assert {Device, Ticket, EmployerBooking} <= set(objects)


def _superuser_request(world, rf):
    request = rf.get("/admin/")
    request.user = world["users"]["superuser"]
    return request


def _is_missing_in_admin(response) -> bool:
    """The admin's answer for an object that does not exist: back to the index (with "perhaps it was
    deleted?"), a 404, or the 403 of a page nobody may use whatever the id (deleting an appointment)."""
    return response.status_code in (403, 404) or (
        response.status_code == 302 and response.url == reverse("admin:index")
    )


def _shows_nothing_of_b(world, response, b_pk=None) -> bool:
    html = response.content.decode()
    listed = response.context and response.context.get("cl")
    return (
        B_NAME not in html
        and world["b"].name not in html  # no row, no filter choice, no form choice
        and not (listed and b_pk in {row.pk for row in listed.result_list})
    )


@pytest.mark.parametrize("role", ["anonymous", "staff of A", "admin of A", "hr"])
def test_admin_urls_against_location_b(client, world, role, rf):
    signed_in(client, world, role)
    before = state_of_b(world)
    b_pks = {f"{m._meta.app_label}_{m._meta.model_name}_changelist": obj.pk for m, obj in admin_objects(world).items()}
    for name, requests in admin_requests(world, _superuser_request(world, rf)).items():
        for method, path, data, kind in requests:
            response = getattr(client, method)(path, data)
            where = (role, name, method, path, data.get("action") or data.get("do"))
            if role == "anonymous":
                assert response.status_code == 302 and "login" in response.url, where
            elif role in ("staff of A", "hr"):
                # Not staff of the admin: sent to its sign-in, which refuses someone already signed in.
                assert response.status_code == 302 and response.url.startswith(reverse("admin:login")), where
                assert client.get(response.url).status_code == 403, where
            elif kind == ACTION:
                # The action runs on the list's rows only: B's row is not among them, so nothing is selected.
                assert response.status_code in (200, 302), where
                assert B_NAME not in response.content.decode(), where
            elif kind == LISTING:
                # A list, an add form, the personal-data request: A's only (or not for them at all).
                assert response.status_code in (200, 302, 403), where
                assert _shows_nothing_of_b(world, response, b_pks.get(name)), where
            else:
                assert _is_missing_in_admin(response), where
    assert state_of_b(world) == before


def test_the_admin_of_a_lists_and_filters_only_a(client, world):
    signed_in(client, world, "admin of A")
    for model in location_bound_models():
        meta = model._meta
        response = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert response.status_code == 200, model
        assert admin_objects(world)[model].pk not in {obj.pk for obj in response.context["cl"].result_list}, model
        html = response.content.decode()
        assert world["b"].name not in html, model  # no row, no filter choice, no form choice
    for model in (Counter, Closure):
        html = client.get(reverse(f"admin:bookings_{model._meta.model_name}_add")).content.decode()
        assert world["a"].name in html and world["b"].name not in html, model
    assert client.get(reverse("admin:bookings_location_add")).status_code == 403  # only a superuser adds one


def test_the_admin_of_a_acts_on_a(client, world):
    signed_in(client, world, "admin of A")
    appointment = world["appointment_a"]
    assert client.get(reverse("admin:bookings_appointment_change", args=[appointment.pk])).status_code == 200
    assert client.get(reverse("admin:bookings_location_change", args=[world["a"].pk])).status_code == 200
    response = client.post(
        reverse("admin:bookings_appointment_changelist"),
        {"action": "cancel_selected", "_selected_action": [appointment.pk], "confirm": "yes"},
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_the_superuser_reaches_b_in_the_admin(client, world):
    signed_in(client, world, "superuser")
    for model, obj in admin_objects(world).items():
        meta = model._meta
        assert client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])).status_code == 200


def test_the_personal_data_request_of_the_admin_of_a_covers_a_only(client, world):
    """Both bookings were made with the same address: the admin of A finds, exports and erases A's only."""
    signed_in(client, world, "admin of A")
    url = reverse("admin:bookings_appointment_personal_data")
    email = world["appointment_a"].contact_email
    html = client.post(url, {"email": email, "do": "find"}).content.decode()
    assert world["appointment_a"].reference in html and world["appointment_b"].reference not in html
    exported = json.loads(client.post(url, {"email": email, "do": "export"}).content)
    assert [row["reference"] for row in exported["appointments"]] == [world["appointment_a"].reference]
    before = state_of_b(world)
    response = client.post(url, {"email": email, "do": "erase", "confirm": "on"})
    assert response.status_code == 302
    assert Appointment.objects.get(pk=world["appointment_a"].pk).contact_email != email
    assert state_of_b(world) == before


def test_staff_locations_are_changed_in_the_admin_through_the_action(client, world):
    """The admin of A gives a new colleague location A; location B is not theirs to give."""
    newcomer = make_user("newcomer", group="Desk staff")
    signed_in(client, world, "admin of A")
    url = reverse("admin:desk_deskstaffmember_change", args=[newcomer.pk])
    html = client.get(url).content.decode()
    assert world["a"].name in html and world["b"].name not in html
    response = client.post(url, {"locations": [world["a"].pk, world["b"].pk]})
    assert response.status_code == 400 or response.status_code == 200  # B is not a valid choice for them
    assert not StaffAssignment.objects.filter(user=newcomer).exists()
    response = client.post(url, {"locations": [world["a"].pk]})
    assert response.status_code == 302
    assert list(StaffAssignment.objects.filter(user=newcomer).values_list("location", flat=True)) == [world["a"].pk]
    [event] = AssignmentEvent.objects.filter(user=newcomer)
    assert (event.kind, event.location_id, event.actor) == ("assigned", world["a"].pk, world["users"]["admin of A"])


def test_a_closure_of_every_location_is_read_only_for_the_admin_of_a(client, world, monday_morning):
    national = actions.save_closure(
        location=None,
        spec=actions.ClosureSpec(pk=None, start_date=date(2026, 12, 24), end_date=date(2026, 12, 24), reason="Xmas"),
        now=monday_morning,
        actor=None,
    )
    signed_in(client, world, "admin of A")
    assert "Xmas" in client.get(reverse("admin:bookings_closure_changelist")).content.decode()
    url = reverse("admin:bookings_closure_change", args=[national.pk])
    assert client.get(url).status_code == 200  # to look at
    client.post(url, {"start_date": "2026-12-24", "end_date": "2026-12-27", "reason": "Longer"})
    assert client.post(reverse("admin:bookings_closure_delete", args=[national.pk]), {"post": "yes"}).status_code == 403
    national.refresh_from_db()
    assert (national.end_date, national.reason) == (date(2026, 12, 24), "Xmas")
    response = client.post(
        reverse("admin:bookings_closure_add"), {"start_date": "2026-12-28", "end_date": "2026-12-28", "reason": "x"}
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors["location"]
    assert not Closure.objects.filter(reason="x").exists()


def test_installation_wide_data_is_read_only_for_an_admin_limited_to_locations(client, world):
    """The service catalogue (and its visit order), the ticket letters and the employers are every
    location's: the admin of A reads them but changes, adds and deletes none; the superuser does."""
    service = world["service"]
    admin_a = world["users"]["admin of A"]
    admin_a.user_permissions.add(*Permission.objects.filter(content_type__app_label="queueing"))
    letter = ServiceLetter.objects.create(service=service, letter="Q")
    employer = Employer.objects.first()  # the HR staff's employer
    assert employer is not None
    sign_in(client, admin_a)
    page = client.get(admin_url(Service, "change", service.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # read-only
    before = (service.duration_minutes, letter.letter)
    refused = [
        client.post(admin_url(Service, "change", service.pk), {"duration_minutes": "60"}),
        client.post(admin_url(Service, "delete", service.pk), {"post": "yes"}),
        client.get(admin_url(Service, "add")),
        client.post(admin_url(ServiceLetter, "change", letter.pk), {"service": service.pk, "letter": "Z"}),
        client.post(admin_url(ServiceLetter, "delete", letter.pk), {"post": "yes"}),
    ]
    refused.append(client.post(admin_url(Employer, "delete", employer.pk), {"post": "yes"}))
    assert [response.status_code for response in refused] == [403] * len(refused)
    service.refresh_from_db()
    letter.refresh_from_db()
    assert (service.duration_minutes, letter.letter) == before
    assert Service.objects.filter(pk=service.pk).exists() and ServiceLetter.objects.filter(pk=letter.pk).exists()
    # The superuser changes them.
    client.logout()
    sign_in(client, world["users"]["superuser"])
    page = client.get(admin_url(Service, "change", service.pk))
    assert 'name="_save"' in page.content.decode()
