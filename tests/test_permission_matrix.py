"""The permission matrix on every URL of the project (issue 12, point 3 and its tests list).

The URL configuration is walked whole (every namespace, named or not): each pattern is either requested
here or in tests/test_location_permissions.py (the desk and the Django admin) with requests aimed at location
B's objects (by id, booking reference, slug, short code or IND desk key), or is in NOT_LOCATION_BOUND with
the reason it holds no location's private data. A new URL fails test_every_url_of_the_project_is_classified
until it is put in one of them. The same holds for the admin's models: each belongs to a location (the admin
part of the matrix) or is in NATIONAL_ADMIN_MODELS.

The roles are anonymous, desk staff of A, admin of A (with the queue's admin permissions too), superuser and
HR staff of an employer (the insights pages also a desk lead of A). The rules per kind of URL:

- desk-side pages (the queue's counter pages and phone bookings, the insights dashboard and its CSV files):
  as the desk: the sign-in, a 403 for a role without the page, a 404 or 400 for B's object, a list that
  holds nothing of B; only the superuser reaches B;
- screens (kiosk, display): a signed-in device of B only; every person, and a kiosk or display of A, gets the
  403 "not signed in" page;
- links with a token (manage, waitlist, feedback, device sign-in) and the public pages and APIs (booking
  flow, /api/v1/, the IND API /oap/api/): a staff or HR session opens nothing extra: the same answer as
  anonymous, B's booking by its reference opens nothing;
- employer pages: an employer's own bookings only.

Nothing of B changes for any role (tests/support/permission_matrix.py::state_of_b), except the superuser's on
the desk-side pages. The desk's clock is the Tuesday of B's bookings, so a request that reached B would act.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.ind_keys import product_key
from desk import clock
from employers.models import Employer
from insights.permissions import DESK_LEADS_GROUP
from insights.tables import TABLE_KEYS
from queueing.models import DeviceKind, ServiceLetter, Ticket
from queueing.views.counter import STEPS
from services.models import Service
from tests.support.desk import desk_staff, sign_in
from tests.support.permission_matrix import (
    B_DESK_KEY,
    B_NAME,
    DESK_TIME,
    ROLES,
    admin_requests,
    desk_requests,
    location_bound_models,
    make_world,
    reaches_location,
    signed_in,
    state_of_b,
)
from tests.support.queue import sign_in_device
from tests.support.urls import flow_url

# URLs that hold no location's private data, each with the reason.
NOT_LOCATION_BOUND = {
    "healthz": "the health check: up or not, nothing of a location",
    "favicon.ico": "a redirect to the site's icon",
    "set_language": "the language switch: a cookie and a redirect",
    "signed_in": "a redirect to the signed-in person's own start page (desk or employer)",
    "desk:login": "signing in",
    "desk:logout": "signing out",
    "desk:verify": "the signed-in person's own second factor",
    "desk:totp_setup": "the signed-in person's own authenticator set-up",
    "employers:login": "signing in",
    "employers:sign_up": "an organisation asks for an account",
    "employers:signed_up": "the page after asking",
    "employers:book_visit": (
        "HR staff book a visit at any active location, as the public pages do (no location's private data); "
        "who may: tests/test_employer_visits.py"
    ),
    "bookings:privacy": "the privacy statement, the same for every location",
    "bookings:accessibility": "the accessibility statement, the same for every location",
    "admin:index": "the admin's list of models (no rows)",
    "admin:app_list": "one app's list of models (no rows)",
    "admin:login": "signing in to the admin",
    "admin:logout": "signing out of the admin",
    "admin:password_change": "the signed-in person's own password",
    "admin:password_change_done": "the page after it",
    "admin:jsi18n": "the admin's JavaScript translations",
    "admin/(?P<url>.*)$": "the admin's catch-all: a 404 (or the sign-in)",
    "bench:json": "the HTTP benchmark's bare view, mounted only with EXPATDESK_BENCHMARK_URLS (never in production)",
    "bench:insert": "the HTTP benchmark's bare insert, mounted only with EXPATDESK_BENCHMARK_URLS",
}
# Models of the admin that belong to no location: the same for the whole installation. The accounts, groups,
# authenticator devices and sign-in records are installation-wide: an admin limited to locations gets no
# permission on them (seed_demo's Admins group has none; test_an_admin_of_a_does_not_reach_accounts checks).
NATIONAL_ADMIN_MODELS = {
    Service: "the service catalogue, offered per location through LocationService (a location's inline)",
    ServiceLetter: "a service's ticket letter, the same at every location",
    Employer: "an organisation, which books at any location (its bookings are EmployerBooking, scoped)",
    User: "installation-wide accounts (a location's staff are DeskStaffMember, scoped)",
    Group: "installation-wide roles",
    TOTPDevice: "installation-wide: the accounts' authenticators",
    AccessAttempt: "installation-wide: the sign-in lockout",
    AccessLog: "installation-wide: the sign-in log",
    AccessFailureLog: "installation-wide: the failed sign-ins",
}
OBJECT, LISTING = "object", "listing"


@pytest.fixture
def world(desk, service, monday_morning, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: DESK_TIME)
    found = make_world(desk, service, monday_morning)
    lead = desk_staff("lead-a", locations=[desk])
    lead.groups.add(Group.objects.get_or_create(name=DESK_LEADS_GROUP)[0])
    found["users"]["desk lead of A"] = lead
    return found


def url_patterns() -> dict[str, str]:
    """Every URL pattern of the project: "namespace:name" (the route for one without a name) → its route."""
    found: dict[str, str] = {}

    def walk(patterns, namespaces: list[str], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, namespaces + ([pattern.namespace] if pattern.namespace else []), route)
            else:
                assert isinstance(pattern, URLPattern)
                key = ":".join([*namespaces, pattern.name]) if pattern.name else route
                assert key not in found, key
                found[key] = route

    walk(get_resolver().url_patterns, [], "")
    return found


# ---- the requests, aimed at B ---------------------------------------------------------------------------


def desk_side_requests(world) -> dict[str, list[tuple[str, str, dict, str]]]:
    """The desk pages outside desk/urls.py: the queue's counters and phone bookings, the insights dashboard."""
    a, b, service = world["a"], world["b"], world["service"]
    counter_a, counter_b = a.counters.order_by("name").first(), b.counters.order_by("name").first()
    ticket = world["ticket_b"].pk
    phone = reverse("queueing:phone_booking")
    booking = {
        "location": b.pk,
        "service": service.pk,
        "day": "2026-12-02",
        "time": "10:00",
        "first_name_1": "Li",
        "last_name_1": "Wei",
        "contact_email": "li@example.org",
        "language": "en",
    }

    def step(counter, name):
        return reverse("queueing:step", args=[counter.pk, ticket, name])

    return {
        "queueing:counters": [("get", reverse("queueing:counters"), {}, LISTING)],
        "queueing:counter": [("get", reverse("queueing:counter", args=[counter_b.pk]), {}, OBJECT)],
        "queueing:call_next": [("post", reverse("queueing:call_next", args=[counter_b.pk]), {}, OBJECT)],
        # B's ticket at B's counter, and at A's own counter (the ticket is not in A's queue).
        "queueing:step": [
            ("post", step(counter, name), {"to_counter": counter_b.pk}, OBJECT)
            for counter in (counter_b, counter_a)
            for name in sorted(STEPS)
        ],
        "queueing:phone_booking": [
            ("get", phone, {}, LISTING),  # the form's locations
            ("get", phone, {"location": b.pk, "service": service.pk, "day": "2026-12-02"}, OBJECT),
            ("post", phone, booking, OBJECT),
        ],
        "queueing:phone_confirmation": [
            ("get", reverse("queueing:phone_confirmation", args=[appointment.reference]), {}, OBJECT)
            for appointment in (world["appointment_b"], world["queued_b"])
        ],
        "insights:dashboard": [
            ("get", reverse("insights:dashboard"), {}, LISTING),  # the first of the person's locations
            ("get", reverse("insights:dashboard"), {"location": b.pk}, OBJECT),
        ],
        "insights:dashboard_csv": [
            ("get", reverse("insights:dashboard_csv", args=[table]), {"location": b.pk}, OBJECT) for table in TABLE_KEYS
        ],
    }


def screen_requests(world) -> dict[str, list[tuple[str, str, dict]]]:
    """B's kiosk and display by its slug."""
    slug, reference = world["b"].slug, world["appointment_b"].reference
    kiosk, walk_in = reverse("queueing:kiosk", args=[slug]), reverse("queueing:kiosk_walk_in", args=[slug])
    return {
        "queueing:kiosk": [("get", kiosk, {}), ("post", kiosk, {"reference": reference})],
        "queueing:kiosk_walk_in": [("get", walk_in, {}), ("post", walk_in, {"service": world["service"].pk})],
        "queueing:display": [("get", reverse("queueing:display", args=[slug]), {})],
        "queueing:display_calls": [("get", reverse("queueing:display_calls", args=[slug]), {})],
    }


def token_requests(world) -> dict[str, list[tuple[str, str, dict]]]:
    """The links e-mailed to one person (or shown once to an admin), their token the key: B's booking reference
    in the token's place opens nothing, whoever is signed in."""
    b, ref = world["b"], world["appointment_b"].reference
    token_pages = {
        "bookings:manage": ("get", flow_url("manage", b, token=ref)),
        "bookings:cancel": ("post", flow_url("cancel", b, token=ref)),
        "bookings:reschedule": ("post", flow_url("reschedule", b, token=ref)),
        "bookings:ics": ("get", flow_url("ics", b, token=ref)),
        "bookings:legacy_manage": ("get", f"/manage/{ref}/"),
        "waitlist:earlier": ("post", reverse("waitlist:earlier", args=[ref])),
        "waitlist:leave": ("post", reverse("waitlist:leave", args=[ref])),
        "waitlist:offer": ("post", reverse("waitlist:offer", args=[ref])),
        "insights:feedback": ("post", reverse("insights:feedback", args=[ref])),
        "insights:feedback_comment": ("post", reverse("insights:feedback_comment", args=[ref])),
        "insights:feedback_thanks": ("get", reverse("insights:feedback_thanks", args=[ref])),
    }
    found = {
        name: [("get", path, {})] + ([("post", path, {})] if method == "post" else [])
        for name, (method, path) in token_pages.items()
    }
    # B's kiosk's own one-time code: its GET only shows a button (a link preview must not use it up).
    found["queueing:device_sign_in"] = [
        ("get", reverse("queueing:device_sign_in", args=[world["kiosk_b_code"]]), {}),
        ("post", reverse("queueing:device_sign_in", args=[ref]), {}),
    ]
    return found


def public_requests(world) -> dict[str, list[tuple[str, str, dict]]]:
    """B's public pages and API answers (by slug, short code and IND desk key). The POSTs are refused for
    everyone (no hold, no token, no data): the matrix shows a session adds no right, not the booking flow."""
    b, code, ref = world["b"], world["service"].code, world["appointment_b"].reference
    short, product = b.short_code, product_key(world["service"])
    answers = {"persons": "1", "municipality": "Maastricht"}
    api = "/api/v1"
    return {
        "bookings:home": [("get", reverse("bookings:home"), {})],
        "bookings:legacy": [("get", f"/book/{code}/", {}), ("get", "/find/", {})],
        "bookings:start": [("get", flow_url("start", b), {})],
        "bookings:find": [
            ("get", flow_url("find", b), {}),
            ("post", flow_url("find", b), {"reference": ref, "email": "someone@example.org"}),
        ],
        "bookings:details": [("get", flow_url("details", b), {}), ("post", flow_url("details", b), {})],
        "bookings:questions": [("get", flow_url("questions", b, service_code=code), {})],
        "bookings:calendar": [("get", flow_url("calendar", b, service_code=code), answers)],
        "bookings:hold": [("post", flow_url("hold", b, service_code=code), {})],
        "bookings:times": [("get", flow_url("times", b, service_code=code, day="2026-12-02"), answers)],
        "bookings:visit_start": [("get", flow_url("visit_start", b), {}), ("post", flow_url("visit_start", b), {})],
        "bookings:visit_persons": [("get", flow_url("visit_persons", b), {"persons": "1", "services": code})],
        "bookings:visit_calendar": [("get", flow_url("visit_calendar", b), {"persons": "1", "part": f"{code}:1"})],
        "bookings:visit_times": [
            ("get", flow_url("visit_times", b, day="2026-12-02"), {"persons": "1", "part": f"{code}:1"})
        ],
        "bookings:visit_hold": [("post", flow_url("visit_hold", b), {})],
        "waitlist:join": [
            ("get", reverse("waitlist:join", args=[b.slug, code]), {}),
            ("post", reverse("waitlist:join", args=[b.slug, code]), {}),
        ],
        "api_v1:services": [("get", f"{api}/services/", {})],
        "api_v1:service": [("get", f"{api}/services/{code}/", {})],
        "api_v1:locations": [("get", f"{api}/locations/", {})],
        "api_v1:location": [("get", f"{api}/locations/{short}/", {})],
        "api_v1:free-days": [("get", f"{api}/locations/{short}/services/{code}/free-days/", {})],
        "api_v1:free-times": [("get", f"{api}/locations/{short}/services/{code}/free-times/", {"date": "2026-12-02"})],
        "api_v1:holds": [("post", f"{api}/holds/", {"location": short, "service": code})],
        "api_v1:visit-times": [
            ("get", f"{api}/locations/{short}/visits/free-times/", {"date": "2026-12-02", "part": f"{code}:1"})
        ],
        "api_v1:visit-holds": [("post", f"{api}/visits/holds/", {"location": short, "parts": [{"service": code}]})],
        "api_v1:bookings": [("post", f"{api}/bookings/", {"reference": ref})],
        "api_v1:manage": [("get", f"{api}/bookings/manage/", {"reference": ref})],
        "api_v1:cancel": [("post", f"{api}/bookings/manage/cancel/", {"reference": ref})],
        "api_v1:move": [
            ("post", f"{api}/bookings/manage/move/", {"reference": ref, "start": "2026-12-02T10:00:00+01:00"})
        ],
        "api_v1:schema": [("get", f"{api}/schema/", {})],
        "api_v1:docs": [("get", f"{api}/docs/", {})],
        "api_v1:not-found": [("get", f"{api}/bookings/{ref}/", {})],
        "ind:desks": [("get", "/oap/api/desks/", {"productKey": product})],
        "ind:slots": [("get", f"/oap/api/desks/{B_DESK_KEY}/slots/", {"productKey": product, "persons": "1"})],
        "ind:hold": [("post", f"/oap/api/desks/{B_DESK_KEY}/slots/{ref}", {})],
        "ind:hold-product": [("post", f"/oap/api/desks/{product}/{B_DESK_KEY}/slots/{ref}", {})],
        "ind:book": [("post", f"/oap/api/desks/{B_DESK_KEY}/appointments/", {"bookableSlot": {"key": ref}})],
        "ind:unknown": [("get", f"/oap/api/appointments/{ref}", {})],
    }


def employer_requests(world) -> dict[str, list[tuple[str, str, dict]]]:
    ref = world["appointment_b"].reference
    return {
        "employers:bookings": [("get", reverse("employers:bookings"), {"q": ref})],
        "employers:booking": [("get", reverse("employers:booking", args=[ref]), {})],
        "employers:move": [("post", reverse("employers:move", args=[ref]), {"day": "2026-12-02", "time": "10:00"})],
        "employers:cancel": [("post", reverse("employers:cancel", args=[ref]), {})],
    }


def _send(client, method: str, path: str, data: dict):
    if method == "post" and path.startswith(("/api/", "/oap/")):
        return client.post(path, data, content_type="application/json")
    return getattr(client, method)(path, data)


def _shows_b(world, response) -> bool:
    html = response.content.decode(errors="replace")
    return B_NAME in html or world["b"].name in html


# ---- every URL is classified ----------------------------------------------------------------------------


def _admin_superuser_request(world, rf):
    request = rf.get("/admin/")
    request.user = world["users"]["superuser"]
    return request


def _is_national_admin_url(key: str) -> bool:
    """A named admin URL of a national model (admin:auth_user_change, …) or an unnamed one (its `<id>/`)."""
    return any(
        key.startswith(
            (f"admin:{m._meta.app_label}_{m._meta.model_name}_", f"admin/{m._meta.app_label}/{m._meta.model_name}/")
        )
        for m in NATIONAL_ADMIN_MODELS
    )


def test_every_url_of_the_project_is_classified(world, rf):
    """Each URL pattern is in the matrix (here or in tests/test_location_permissions.py) or in the allow-list."""
    in_matrix = (
        {f"desk:{name}" for name in desk_requests(world)}
        | {f"admin:{name}" for name in admin_requests(world, _admin_superuser_request(world, rf))}
        | set(desk_side_requests(world))
        | set(screen_requests(world))
        | set(token_requests(world))
        | set(public_requests(world))
        | set(employer_requests(world))
    )
    patterns = url_patterns()
    assert not in_matrix & set(NOT_LOCATION_BOUND)
    unclassified = {
        key
        for key in patterns
        if key not in in_matrix
        and key not in NOT_LOCATION_BOUND
        and not _is_national_admin_url(key)
        # The admin's `<id>/` redirects to that object's change page, which the matrix requests.
        and not (key.startswith("admin/") and key.endswith("/<path:object_id>/"))
    }
    assert unclassified == set(), "classify these URLs: in the permission matrix or in NOT_LOCATION_BOUND"
    # Nothing in the matrix that is not a URL (a renamed one stays covered under its new name).
    assert in_matrix - set(patterns) == set()
    assert {key for key in NOT_LOCATION_BOUND if not key.startswith("bench:")} <= set(patterns)


def test_every_model_of_the_admin_belongs_to_a_location_or_to_the_whole_installation():
    registered = set(admin.site._registry)
    assert registered == set(location_bound_models()) | set(NATIONAL_ADMIN_MODELS)
    assert not set(location_bound_models()) & set(NATIONAL_ADMIN_MODELS)
    # A model that leads to a location cannot be put among the national ones.
    assert [model for model in NATIONAL_ADMIN_MODELS if reaches_location(model)] == []


def test_an_admin_of_a_does_not_reach_accounts(client, world):
    """The installation-wide models (accounts, groups, authenticators, lockouts) are not for an admin limited
    to locations: without the permissions, every page of them is refused."""
    signed_in(client, world, "admin of A")
    for model in (User, Group, TOTPDevice, AccessAttempt):
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(url).status_code == 403, model
    staff_b = world["staff_b"]
    assert client.get(reverse("admin:auth_user_change", args=[staff_b.pk])).status_code in (302, 403)
    assert client.get(reverse("admin:auth_user_password_change", args=[staff_b.pk])).status_code == 403


# ---- the desk-side pages ----------------------------------------------------------------------------------

INSIGHTS = {"insights:dashboard", "insights:dashboard_csv"}


@pytest.mark.parametrize("role", [*ROLES, "desk lead of A"])
def test_desk_side_urls_against_location_b(client, world, role):
    signed_in(client, world, role)
    before = state_of_b(world)
    for name, requests in desk_side_requests(world).items():
        for method, path, data, kind in requests:
            response = client.get(path, data) if method == "get" else client.post(path, data)
            where = (role, name, method, path)
            if role == "anonymous":
                assert response.status_code == 302 and response.url.startswith("/desk/login/"), where
            elif role == "hr" or (role == "staff of A" and name in INSIGHTS):
                assert response.status_code == 403, where
            elif role == "superuser":
                if method == "get":
                    assert response.status_code == 200, where
                    assert kind == OBJECT or _shows_b(world, response), where  # the list holds B: it can fail
            elif kind == LISTING:
                assert response.status_code == 200 and not _shows_b(world, response), where
            else:
                # B's location in the form is not a choice (400), B's counter, ticket or booking is not found.
                assert response.status_code in (400, 404), where
                assert not _shows_b(world, response), where
    if role != "superuser":
        assert state_of_b(world) == before


def test_staff_of_a_run_their_own_queue(client, world):
    """The same pages answer for A's own counter: the 404s above are the location's, not the page's."""
    signed_in(client, world, "staff of A")
    counter = world["a"].counters.order_by("name").first()
    assert client.get(reverse("queueing:counter", args=[counter.pk])).status_code == 200
    assert client.post(reverse("queueing:call_next", args=[counter.pk])).status_code == 302
    reference = world["appointment_a"].reference
    assert client.get(reverse("queueing:phone_confirmation", args=[reference])).status_code == 200
    signed_in(client, world, "desk lead of A")
    assert client.get(reverse("insights:dashboard"), {"location": world["a"].pk}).status_code == 200


# ---- the screens ------------------------------------------------------------------------------------------


def _screen_answers(client, world, where) -> None:
    for name, requests in screen_requests(world).items():
        for method, path, data in requests:
            response = getattr(client, method)(path, data)
            assert response.status_code == 403, (*where, name, method)
            assert B_NAME not in response.content.decode(errors="replace"), (*where, name, method)


@pytest.mark.parametrize("role", ROLES)
def test_screens_of_location_b_answer_only_its_own_devices(client, world, role):
    """A person's session is no kiosk or display, not even the superuser's."""
    signed_in(client, world, role)
    before = state_of_b(world)
    _screen_answers(client, world, (role,))
    assert state_of_b(world) == before


def test_a_kiosk_and_a_display_of_a_do_not_open_bs(client, world):
    before = state_of_b(world)
    for kind in (DeviceKind.KIOSK, DeviceKind.DISPLAY):
        client.cookies.clear()
        sign_in_device(client, world["a"], kind, now=DESK_TIME, name=f"A's {kind}")
        own = "queueing:kiosk" if kind == DeviceKind.KIOSK else "queueing:display"
        assert client.get(reverse(own, args=[world["a"].slug])).status_code == 200
        _screen_answers(client, world, (kind,))
        if kind == DeviceKind.KIOSK:
            # B's references typed at A's own kiosk: refused, no check-in, no ticket at A.
            for appointment in (world["appointment_b"], world["queued_b"]):
                response = client.post(
                    reverse("queueing:kiosk", args=[world["a"].slug]), {"reference": appointment.reference}
                )
                assert response.status_code == 400, appointment
                assert (
                    B_NAME not in response.content.decode() and 'data-testid="ticket"' not in response.content.decode()
                )
            assert not Ticket.objects.filter(location=world["a"]).exists()
    assert state_of_b(world) == before
    # B's own kiosk is let in: the 403s above are the device's location, not a broken page.
    client.cookies.clear()
    sign_in_device(client, world["b"], DeviceKind.KIOSK, now=DESK_TIME)
    assert client.get(reverse("queueing:kiosk", args=[world["b"].slug])).status_code == 200


# ---- links with a token, public pages and APIs: a session opens nothing extra ----------------------------


def _answers(client, world, requests: dict) -> dict:
    """(status, where a redirect leads) of each request; none shows B's booking."""
    found = {}
    for name, items in requests.items():
        for index, (method, path, data) in enumerate(items):
            response = _send(client, method, path, data)
            assert B_NAME not in response.content.decode(errors="replace"), (name, method, path)
            found[(name, index)] = (response.status_code, response.get("Location", ""))
    return found


# "Find my booking" answers alike whether the reference and address match (the link goes to the booking's own
# address), so its POST is not refused.
SAME_ANSWER_FOUND_OR_NOT = {"bookings:find"}


@pytest.mark.parametrize("role", ROLES)
def test_token_links_public_pages_and_apis_answer_a_session_as_anyone(client, world, role):
    requests = token_requests(world) | public_requests(world)
    before = state_of_b(world)
    anonymous = _answers(client, world, requests)
    signed_in(client, world, role)
    assert _answers(client, world, requests) == anonymous
    for (name, index), (status, _where) in anonymous.items():
        method, path, _data = requests[name][index]
        if name in token_requests(world) and (name, method) != ("queueing:device_sign_in", "get"):
            assert status in (302, 400, 404), (name, index, status)  # the reference is no token
        elif method == "post" and path.startswith(("/api/", "/oap/")):
            assert 400 <= status < 500, (name, index, status)  # refused for anyone
        elif method == "post" and name not in SAME_ANSWER_FOUND_OR_NOT:
            # Refused for anyone: the form again (400), or back to the step before (no hold, no answers).
            assert status in (302, 400), (name, index, status)
    assert state_of_b(world) == before


# ---- the employer pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_employer_urls_against_location_b(client, world, role):
    """The employer pages show an employer's own bookings only (B's booking is another employer's)."""
    signed_in(client, world, role)
    before = state_of_b(world)
    for name, requests in employer_requests(world).items():
        for method, path, data in requests:
            response = getattr(client, method)(path, data)
            where = (role, name, method)
            if role == "anonymous":
                assert response.status_code == 302 and "login" in response.url, where
            elif role == "hr":
                if name == "employers:bookings":
                    assert response.status_code == 200 and B_NAME not in response.content.decode(), where
                else:
                    assert response.status_code == 404, where
            else:
                assert response.status_code == 403, where
    assert state_of_b(world) == before


def test_the_employer_of_bs_booking_reaches_it(client, world):
    """The other employer, who made B's booking, sees it: the 404 above is the employer's, not the page's."""
    sign_in(client, world["employer_booking_b"].booked_by)
    assert client.get(reverse("employers:booking", args=[world["appointment_b"].reference])).status_code == 200
