"""Staff scoped to locations (issue 12, point 3): the permission matrix.

Five roles (anonymous, desk staff of A, admin of A, superuser, HR staff of an employer) × every desk URL
(desk/urls.py), every admin URL of the bookings and desk models (changelist, change, delete, history and each
admin action, from admin.site's registry), the employer pages and the API, all aimed at location B's objects
(by id and by booking reference). Nobody but the superuser reaches B: the answer is a 404 (or the admin's
"does not exist", as for a missing id), a 403 or the sign-in, and nothing of B changes. The URLs are read from
the URL configuration and the admin registry, so a new URL or admin action fails here until it is covered.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from bookings import actions
from bookings.admin.scoped import LocationScoped
from bookings.models import (
    Appointment,
    AppointmentEvent,
    Closure,
    ConfigurationEvent,
    Counter,
    CounterBlock,
    Location,
    OutboxEmail,
    SlotClaim,
)
from desk import clock
from desk.actions import set_staff_locations
from desk.models import AssignmentEvent, DeskStaffMember, StaffAssignment
from employers import actions as employer_actions
from employers.models import EmployerBooking
from tests.support.desk import (
    assign,
    book,
    desk_admin,
    desk_staff,
    hr_staff,
    location_admin,
    make_user,
    sign_in,
)
from tests.support.env import AMSTERDAM
from tests.support.factories import make_desk

TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=AMSTERDAM)
ROLES = ["anonymous", "staff of A", "admin of A", "superuser", "hr"]
# Desk URLs that concern no location: signing in and out.
NOT_LOCATION_BOUND = {"login", "logout", "verify", "totp_setup"}
# The last name on B's booking: a page that shows it has shown B's booking (a reference typed is echoed back).
B_NAME = "Zwanenburg"


@pytest.fixture
def world(desk, service, monday_morning):
    """Location A (the test desk) and B, each with a booking (same e-mail address), a block and a closure;
    staff of B; and the five roles' users."""
    b = make_desk(services=[service], name="Bbb desk B")
    blocks = {}
    for name, location in (("a", desk), ("b", b)):
        blocks[name] = actions.block_counter(
            counter=location.counters.order_by("name").last(),
            start=TUESDAY_10.replace(hour=14),
            end=TUESDAY_10.replace(hour=15),
            reason="Training",
            now=monday_morning,
            actor=None,
        )
    closure_b = actions.save_closure(
        location=b,
        spec=actions.ClosureSpec(pk=None, start_date=date(2026, 12, 15), end_date=date(2026, 12, 15), reason="Works"),
        now=monday_morning,
        actor=None,
    )
    hr = hr_staff()
    appointment_b = book(b, service, TUESDAY_10, now=monday_morning, names=[("Beatrix", B_NAME)])
    return {
        "a": desk,
        "b": b,
        "employer_booking_b": employer_actions.record_employer_booking(
            appointment=appointment_b, user=hr_staff("hr@other-employer.example"), now=monday_morning
        ),
        "appointment_a": book(desk, service, TUESDAY_10, now=monday_morning),
        "appointment_b": appointment_b,
        "block_a": blocks["a"],
        "block_b": blocks["b"],
        "closure_b": closure_b,
        "service": service,
        "staff_b": desk_staff("staff-b", locations=[b]),
        "users": {
            "staff of A": desk_staff("staff-a", locations=[desk]),
            "admin of A": location_admin("admin-a", locations=[desk]),
            "superuser": desk_admin("root"),
            "hr": hr,
        },
    }


def state_of_b(world) -> tuple:
    """Everything of location B a request could change."""
    b = world["b"]
    appointment = Appointment.objects.get(pk=world["appointment_b"].pk)
    return (
        (appointment.status, appointment.start, appointment.contact_email, appointment.sequence),
        tuple(Location.objects.filter(pk=b.pk).values_list("name", "is_active", "grid_minutes")),
        tuple(Counter.objects.filter(location=b).order_by("pk").values_list("pk", "name", "is_active")),
        SlotClaim.objects.filter(counter__location=b).count(),
        tuple(CounterBlock.objects.filter(counter__location=b).order_by("pk").values_list("pk", "start", "end")),
        tuple(Closure.objects.filter(location=b).order_by("pk").values_list("pk", "start_date", "end_date")),
        ConfigurationEvent.objects.filter(location=b).count(),
        AppointmentEvent.objects.filter(appointment__location=b).count(),
        OutboxEmail.objects.filter(appointment__location=b).count(),
        tuple(StaffAssignment.objects.filter(location=b).order_by("pk").values_list("user_id", flat=True)),
        Appointment.objects.filter(location=b).count(),
    )


def signed_in(client, world, role: str):
    if role != "anonymous":
        sign_in(client, world["users"][role])
    return client


# ---- the desk ---------------------------------------------------------------------------------


def desk_requests(world) -> dict[str, list[tuple[str, str, dict]]]:
    """For each desk URL name: (method, path, data) aimed at B (its location and counter ids in the query or
    the form, its block by id, its booking by reference)."""
    b, ref, block = world["b"], world["appointment_b"].reference, world["block_b"].pk
    counter_b = b.counters.order_by("name").first().pk
    day = {"location": b.pk, "day": "2026-12-01"}
    counter_query = {"location": world["a"].pk, "day": "2026-12-01", "counter": counter_b}
    on_appointment = {"day": "2026-12-02", "time": "10:00", "reason": "Other location", "next": "/desk/"}
    requests = {
        name: [("get", reverse(f"desk:{name}"), day), ("get", reverse(f"desk:{name}"), counter_query)]
        for name in ("agenda", "agenda_fragment", "agenda_print", "agenda_csv")
    }
    requests |= {
        "capacity": [
            ("get", reverse("desk:capacity"), {"location": b.pk}),
            ("post", reverse("desk:capacity"), {"location": b.pk, "start_date": "2026-12-08", "reason": "x"}),
        ],
        "capacity_hours": [
            ("get", reverse("desk:capacity_hours"), {"location": b.pk}),
            (
                "post",
                reverse("desk:capacity_hours"),
                {"location": b.pk, "weekday": "1", "opens_1": "09:00", "closes_1": "11:00"},
            ),
        ],
        "check_in": [("post", reverse("desk:check_in"), {"reference": ref})],
        "walk_in": [
            (
                "post",
                reverse("desk:walk_in"),
                {"location": b.pk, "service": world["service"].pk, "first_name_1": "Li", "last_name_1": "Wei"},
            )
        ],
        "block_counter": [
            (
                "post",
                reverse("desk:block_counter"),
                {"counter": counter_b, "day": "2026-12-02", "start_time": "09:00", "end_time": "10:00", "reason": "x"},
            )
        ],
        "block": [("get", reverse("desk:block", args=[block]), {}), ("post", reverse("desk:block", args=[block]), {})],
        "appointment": [("get", reverse("desk:appointment", args=[ref]), {"move_day": "2026-12-02"})],
    }
    for name in ("check_in", "start", "finish", "no_show", "undo_check_in", "cancel", "move"):
        requests[f"appointment_{name}"] = [("post", reverse(f"desk:appointment_{name}", args=[ref]), on_appointment)]
    return requests


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


def admin_objects(world) -> dict[type, object]:
    """Location B's object of each model the admin registers in the bookings and desk apps."""
    b = world["b"]
    staff_b = world["staff_b"]
    return {
        Location: b,
        Counter: b.counters.first(),
        Closure: world["closure_b"],
        ConfigurationEvent: ConfigurationEvent.objects.filter(location=b).first(),
        Appointment: world["appointment_b"],
        OutboxEmail: OutboxEmail.objects.filter(appointment=world["appointment_b"]).first(),
        CounterBlock: world["block_b"],
        DeskStaffMember: DeskStaffMember.objects.get(pk=staff_b.pk),
        AssignmentEvent: AssignmentEvent.objects.filter(user=staff_b).first(),
        EmployerBooking: world["employer_booking_b"],
    }


def scoped_models() -> list[type]:
    """The admin's models of the bookings and desk apps, and every other one limited to locations."""
    return [
        model
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in {"bookings", "desk"} or isinstance(model_admin, LocationScoped)
    ]


def test_every_bookings_and_desk_model_of_the_admin_is_in_the_matrix(world):
    objects = admin_objects(world)
    assert set(scoped_models()) == set(objects)
    assert all(obj is not None for obj in objects.values())


def admin_requests(world, request) -> list[tuple[str, str, dict]]:
    objects = admin_objects(world)
    found = []
    for model in scoped_models():
        meta, obj = model._meta, objects[model]
        base = f"admin:{meta.app_label}_{meta.model_name}"
        found += [
            ("get", reverse(f"{base}_change", args=[obj.pk]), {}),
            ("get", reverse(f"{base}_delete", args=[obj.pk]), {}),
            ("post", reverse(f"{base}_delete", args=[obj.pk]), {"post": "yes"}),
            ("get", reverse(f"{base}_history", args=[obj.pk]), {}),
        ]
        for action in admin.site._registry[model].get_actions(request):
            found.append(
                (
                    "post",
                    reverse(f"{base}_changelist"),
                    {"action": action, "_selected_action": [obj.pk], "confirm": "yes", "post": "yes"},
                )
            )
    return found


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


@pytest.mark.parametrize("role", ["anonymous", "staff of A", "admin of A", "hr"])
def test_admin_urls_against_location_b(client, world, role, rf):
    signed_in(client, world, role)
    before = state_of_b(world)
    for method, path, data in admin_requests(world, _superuser_request(world, rf)):
        response = getattr(client, method)(path, data)
        where = (role, method, path, data.get("action"))
        if role == "anonymous":
            assert response.status_code == 302 and "login" in response.url, where
        elif role in ("staff of A", "hr"):
            # Not staff of the admin: sent to its sign-in, which refuses someone already signed in.
            assert response.status_code == 302 and response.url.startswith(reverse("admin:login")), where
            assert client.get(response.url).status_code == 403, where
        elif "action" in data:
            # The action runs on the list's rows only: B's row is not among them, so nothing is selected.
            assert response.status_code in (200, 302), where
            assert B_NAME not in response.content.decode(), where
        else:
            assert _is_missing_in_admin(response), where
    assert state_of_b(world) == before


def test_the_admin_of_a_lists_and_filters_only_a(client, world):
    signed_in(client, world, "admin of A")
    for model in scoped_models():
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


# ---- the employer pages and the API -----------------------------------------------------------


def employer_requests(world) -> list[tuple[str, str, dict]]:
    ref = world["appointment_b"].reference
    return [
        ("get", reverse("employers:bookings"), {"q": ref}),
        ("get", reverse("employers:booking", args=[ref]), {}),
        ("post", reverse("employers:move", args=[ref]), {"day": "2026-12-02", "time": "10:00"}),
        ("post", reverse("employers:cancel", args=[ref]), {}),
    ]


def api_requests(world) -> list[tuple[str, str, dict]]:
    b, ref = world["b"], world["appointment_b"].reference
    code = world["service"].code
    return [
        ("get", reverse("api_v1:locations"), {}),
        ("get", reverse("api_v1:location", args=[b.short_code]), {}),
        ("get", reverse("api_v1:free-days", args=[b.short_code, code]), {}),
        ("get", reverse("api_v1:manage"), {"reference": ref}),
        ("post", reverse("api_v1:cancel"), {"reference": ref}),
        ("post", reverse("api_v1:move"), {"reference": ref, "start": "2026-12-02T10:00:00+01:00"}),
        ("get", "/oap/api/desks/", {"productKey": "BIO"}),
    ]


def _api(client, method: str, path: str, data: dict):
    if method == "post":
        return client.post(path, data, content_type="application/json")
    return client.get(path, data)


@pytest.mark.parametrize("role", ROLES)
def test_employer_and_api_urls_against_location_b(client, world, role):
    """The employer pages show an employer's own bookings only (B's booking is none of theirs); the API
    answers a staff member's session as it answers anyone: a staff role opens nothing there."""
    anonymous = {path: _api(client, method, path, data).status_code for method, path, data in api_requests(world)}
    signed_in(client, world, role)
    before = state_of_b(world)
    for method, path, data in employer_requests(world):
        response = getattr(client, method)(path, data)
        where = (role, method, path)
        if role == "anonymous":
            assert response.status_code == 302 and "login" in response.url, where
        elif role == "hr":
            if path == reverse("employers:bookings"):
                assert response.status_code == 200 and B_NAME not in response.content.decode(), where
            else:
                assert response.status_code == 404, where
        else:
            assert response.status_code == 403, where
    for method, path, data in api_requests(world):
        response = _api(client, method, path, data)
        assert response.status_code == anonymous[path], (role, path)
        if method == "post":
            assert response.status_code in (401, 403, 404), (role, path)  # no manage token, no access
        assert B_NAME not in response.content.decode(), (role, path)
    assert state_of_b(world) == before


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
