"""Bad input (issue 5, point 5): every public form and endpoint answers 2xx, 3xx or 4xx — never 5xx — to
oversized fields, malformed dates, unknown ids, wrong methods, missing CSRF tokens and names in any
script; a refused request changes nothing in the database; HTML typed into a name is shown escaped in
pages, e-mails and calendar files.

The property-based tests (hypothesis) post generated input to every public form: the questions, the
hold, the details (with a fresh hold in the session for each example), "find my booking", and the
manage link's cancel and move. Examples are bounded (max_examples) and have no deadline: no timing.
"""

from __future__ import annotations

from datetime import timedelta
from email.mime.base import MIMEBase
from urllib.parse import quote

import icalendar
import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings import actions
from bookings.availability import free_slots
from bookings.emails import build_message
from bookings.models import Appointment, AppointmentStatus, OutboxEmail, Person, SlotClaim
from bookings.views.common import HOLD_KEY
from tests.support.public_flow import MANAGE_PATH, confirmed_token, details_data, hold_first_time
from tests.support.urls import reverse

SCRIPTS = ["Zoë", "Bjørn", "Strauß", "محمد", "王小明", "😀👨‍👩‍👧", "Ólafsdóttir", "Nguyễn", "Åsa-Öberg"]
HTML_NAME = '<script>alert("x")</script><b onmouseover=alert(1)>'
MALFORMED_STARTS = [
    "",
    "2026-02-30T09:00:00+01:00",
    "2026-13-01T09:00:00+01:00",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00",
    "2026-12-01T09:00:00",  # no time zone
    "2026-12-01T09:07:00+01:00",  # off the grid
    "1970-01-01T00:00:00+00:00",
    "not a date",
    "2026-12-01T09:00:00+01:00" * 3,
]

# Any text a browser can send: every script, emoji, control characters; no lone surrogates (not UTF-8).
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
field_value = st.one_of(
    any_text,
    st.sampled_from(SCRIPTS + [HTML_NAME, "x" * 5000, "", " ", "\x00", "1", "-1", "7", "99999999999999999999"]),
)
start_value = st.one_of(field_value, st.sampled_from(MALFORMED_STARTS))
HYPOTHESIS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Appointment, Person, SlotClaim, OutboxEmail)}


def assert_answered(response) -> None:
    assert response.status_code < 500, response.status_code


@pytest.fixture
def booked(desk, service):
    """A live booking and its manage token."""
    now = timezone.now()
    start = _any_free_start(desk, service)
    result = actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[actions.PersonName(first_name="Anna", last_name="Jansen")],
        contact_email="anna@example.org",
        now=now,
    )
    return result


# ---- property-based: generated input to every public form ---------------------------------------


@HYPOTHESIS
@given(persons=field_value, municipality=field_value)
def test_questions_form_never_fails(client, desk, service, persons, municipality):
    before = row_counts()
    response = client.post(
        reverse("bookings:questions", kwargs={"service_code": service.code}),
        {"persons": persons, "municipality": municipality},
    )
    assert_answered(response)
    assert row_counts() == before  # the questions never write


@HYPOTHESIS
@given(persons=field_value, municipality=field_value, start=start_value)
def test_hold_form_never_fails_and_a_refusal_writes_nothing(client, desk, service, persons, municipality, start):
    before = row_counts()
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}),
        {"persons": persons, "municipality": municipality, "start": start},
    )
    assert_answered(response)
    if response.status_code != 302 or response["Location"] != reverse("bookings:details"):
        assert row_counts() == before


@HYPOTHESIS
@given(
    first=field_value,
    last=field_value,
    email=st.one_of(field_value, st.emails().map(str)),
    phone=field_value,
    language=st.one_of(field_value, st.sampled_from(["en", "nl"])),
    consent=st.sampled_from(["on", "", "off", "1"]),
    extra=st.dictionaries(st.sampled_from(["first_name_2", "last_name_2", "first_name_7", "persons"]), field_value),
)
def test_details_form_never_fails_and_a_refusal_writes_nothing(
    client, desk, service, first, last, email, phone, language, consent, extra
):
    held = actions.hold_slot(
        location=desk,
        service=service,
        start=_any_free_start(desk, service),
        persons=1,
        now=timezone.now(),
    )
    session = client.session
    session[HOLD_KEY] = {"appointment_id": held.pk, "service": service.code, "persons": 1, "municipality": ""}
    session.save()
    before = row_counts()
    data = {
        "first_name_1": first,
        "last_name_1": last,
        "email": email,
        "phone": phone,
        "language": language,
        "consent": consent,
        **extra,
    }
    response = client.post(reverse("bookings:details"), data)
    assert_answered(response)
    booked = response.status_code == 302 and MANAGE_PATH.fullmatch(response["Location"]) is not None
    if not booked:
        assert row_counts() == before
        assert Appointment.objects.get(pk=held.pk).status == AppointmentStatus.HELD
    actions.cancel_appointment(appointment=Appointment.objects.get(pk=held.pk), now=timezone.now())


def _any_free_start(desk, service):
    now = timezone.now()
    slots = free_slots(
        location=desk,
        service=service,
        persons=1,
        start_date=now.date(),
        end_date=now.date() + timedelta(days=40),
        now=now,
    )
    return next(slot.start for day in sorted(slots) for slot in slots[day])


@HYPOTHESIS
@given(reference=field_value, email=field_value)
def test_find_my_booking_never_fails(client, desk, service, booked, reference, email):
    before = row_counts()
    response = client.post(reverse("bookings:find"), {"reference": reference, "email": email})
    assert_answered(response)
    assert row_counts() == before  # generated input never names a real booking with its address


@HYPOTHESIS
@given(token=field_value)
def test_manage_links_with_any_token_answer_404_and_change_nothing(client, desk, service, booked, token):
    before = row_counts()
    quoted = quote(token, safe="") or "x"
    for path in (f"/manage/{quoted}/", f"/manage/{quoted}/cancel/", f"/manage/{quoted}/move/"):
        assert_answered(client.post(path, {"start": token}))
        assert_answered(client.get(path, {"day": token, "month": token}))
    assert row_counts() == before
    assert Appointment.objects.get(pk=booked.appointment.pk).status == AppointmentStatus.BOOKED


@HYPOTHESIS
@given(start=start_value, day=field_value, month=field_value)
def test_moving_with_any_input_never_fails_and_a_refusal_keeps_the_booking(
    client, desk, service, booked, start, day, month
):
    token = booked.manage_token
    appointment = Appointment.objects.get(pk=booked.appointment.pk)
    before = row_counts()
    response = client.post(reverse("bookings:reschedule", kwargs={"token": token}), {"start": start})
    assert_answered(response)
    moved = response.status_code == 302 and response["Location"] == reverse("bookings:manage", kwargs={"token": token})
    if not moved:
        assert row_counts() == before
        assert Appointment.objects.get(pk=appointment.pk).start == appointment.start
    assert_answered(client.get(reverse("bookings:reschedule", kwargs={"token": token}), {"day": day, "month": month}))


# ---- specific bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "bookings:hold", {"service_code": "fast-track"}),
        ("put", "bookings:details", {}),
        ("delete", "bookings:find", {}),
        ("patch", "bookings:questions", {"service_code": "fast-track"}),
        ("post", "bookings:manage", {"token": "x"}),
        ("post", "bookings:ics", {"token": "x"}),
        ("put", "bookings:cancel", {"token": "x"}),
    ],
)
def test_wrong_methods_get_405(client, desk, service, method, name, kwargs):
    response = getattr(client, method)(reverse(name, kwargs=kwargs))
    assert response.status_code == 405


def test_posts_without_a_csrf_token_are_refused_with_403_and_write_nothing(desk, service, booked):
    strict = Client(enforce_csrf_checks=True)
    before = row_counts()
    for url, data in [
        (reverse("bookings:questions", kwargs={"service_code": service.code}), {"persons": "1"}),
        (reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": "1", "start": "x"}),
        (reverse("bookings:details"), details_data(1)),
        (reverse("bookings:find"), {"reference": booked.appointment.reference, "email": "anna@example.org"}),
        (reverse("bookings:cancel", kwargs={"token": booked.manage_token}), {}),
        (reverse("bookings:reschedule", kwargs={"token": booked.manage_token}), {"start": "x"}),
    ]:
        response = strict.post(url, data)
        assert response.status_code == 403, url
    assert row_counts() == before
    assert Appointment.objects.get(pk=booked.appointment.pk).status == AppointmentStatus.BOOKED


@pytest.mark.parametrize(
    "path",
    [
        "/book/no-such-service/",
        "/book/no-such-service/calendar/?persons=1",
        "/book/{code}/2026-02-30/?persons=1",
        "/book/{code}/9999-99-99/?persons=1",
        "/book/{code}/0000-01-01/?persons=1",
        "/book/{code}/calendar/?persons=1&month=2026-13",
        "/book/{code}/calendar/?persons=1&month=99999-01",
        "/book/{code}/calendar/?persons=abc",
        "/book/{code}/calendar/?persons=1&municipality=" + "x" * 3000,
        "/manage/" + "A" * 2000 + "/",
        "/manage/%00/",
        "/book/confirmed/",
        "/book/details/",
    ],
)
def test_malformed_urls_and_unknown_ids_answer_without_error(client, desk, service, path):
    assert_answered(client.get(path.format(code=service.code)))


@pytest.mark.parametrize("name", SCRIPTS)
def test_names_in_any_script_can_be_booked(client, desk, service, name):
    hold_first_time(client, service, persons=1)
    response = client.post(reverse("bookings:details"), details_data(1, first_name_1=name, last_name_1=name))
    confirmed_token(response)
    person = Person.objects.get()
    assert (person.first_name, person.last_name) == (name, name)
    assert name in client.get(response["Location"]).content.decode()


def test_html_in_a_name_is_escaped_in_pages_emails_and_calendar_files(client, desk, service):
    hold_first_time(client, service, persons=1)
    response = client.post(reverse("bookings:details"), details_data(1, first_name_1=HTML_NAME))
    token = confirmed_token(response)
    manage = reverse("bookings:manage", kwargs={"token": token})
    for url in (manage, manage):  # the confirmation on the first visit, the manage page after it
        page = client.get(url).content.decode()
        assert "&lt;script&gt;" in page
        assert "<script>alert" not in page and "<b onmouseover" not in page

    appointment = Appointment.objects.get(status=AppointmentStatus.BOOKED)
    message = build_message(OutboxEmail.objects.get(appointment=appointment))
    html_body = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    assert "&lt;script&gt;" in html_body
    assert "<script>alert" not in html_body and "<b onmouseover" not in html_body
    assert HTML_NAME in message.body  # plain text shows exactly what was typed, as text

    ics = client.get(reverse("bookings:ics", kwargs={"token": token})).content
    assert b"<script" not in ics and b"onmouseover" not in ics  # names are not in calendar files at all
    assert icalendar.Calendar.from_ical(ics).walk("VEVENT")
    for part in message.attachments:
        payload = part.get_payload(decode=True) if isinstance(part, MIMEBase) else str(part[1]).encode()
        assert b"<script" not in (payload or b"")
