"""The public booking flow through the Django test client, page by page, as a person clicks it.

Views use timezone.now(); the tests read the free days and times from the pages themselves, so they
do not depend on the day they run. A lapsed hold is made by moving its expiry into the past.
"""

import html
import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from bookings import actions
from bookings.actions import PersonName
from bookings.models import Appointment, AppointmentStatus, Closure, EmailKind, OutboxEmail, Person, SlotClaim
from bookings.views.common import DRAFT_KEY, HOLD_KEY
from tests.support.configuration import forget_kept_claims
from tests.support.factories import OpeningHoursFactory, ServiceFactory, offer
from tests.support.public_flow import (
    START_BUTTON,
    TIMES_LINK,
    confirmed_token,
    details_data,
    first_times_url,
    hold_first_time,
    lapse,
    page,
    starts_on,
)
from tests.support.urls import reverse


@pytest.fixture
def municipality_service(desk):
    service = ServiceFactory(requires_municipality=True, max_persons=6)
    for counter in desk.counters.all():
        counter.services.add(service)
        offer(counter.location, [service])
    return service


# ---- the full flow -----------------------------------------------------------------------------


@pytest.mark.parametrize("persons", [1, 4])
def test_full_flow(client, desk, service, persons, django_assert_max_num_queries):
    response = client.get(reverse("bookings:start"))
    assert response.status_code == 200
    content = page(response)
    assert '<html lang="en">' in content
    assert service.name_en in content
    assert desk.street in content and desk.postcode in content
    assert "Tuesday" in content  # opening days
    assert reverse("bookings:questions", kwargs={"service_code": service.code}) in content

    questions_url = reverse("bookings:questions", kwargs={"service_code": service.code})
    response = client.get(questions_url)
    assert response.status_code == 200
    assert 'name="persons"' in page(response)
    assert 'name="municipality"' not in page(response)

    response = client.post(questions_url, {"persons": str(persons)})
    assert response.status_code == 302
    calendar_url = response["Location"]
    assert calendar_url.startswith(reverse("bookings:calendar", kwargs={"service_code": service.code}))
    with django_assert_max_num_queries(10):
        response = client.get(calendar_url)
    content = page(response)
    assert "<table" in content and '<th scope="col">' in content
    times_url = first_times_url(client, calendar_url)

    with django_assert_max_num_queries(10):
        starts = starts_on(client, times_url)
    assert starts
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": str(persons), "start": starts[0]}
    )
    assert response.status_code == 302
    held = Appointment.objects.get()
    assert held.status == AppointmentStatus.HELD
    assert held.persons == persons
    assert held.start == datetime.fromisoformat(starts[0])
    assert client.session[HOLD_KEY]["appointment_id"] == held.pk

    response = client.get(reverse("bookings:details"))
    assert response.status_code == 200
    content = page(response)
    until = timezone.localtime(held.hold_expires_at, desk.tz).strftime("%H:%M")
    assert f"We keep this time for you until {until}." in content
    assert content.count('name="first_name_') == persons
    assert content.count('name="last_name_') == persons
    assert 'data-hold-expires="' in content
    assert "<script>" not in content  # no inline script: the countdown is a static file
    assert 'href="/privacy/"' in content and 'name="consent"' in content

    response = client.post(reverse("bookings:details"), details_data(persons))
    confirmed_token(response)
    confirmation_url = response["Location"]

    booked = Appointment.objects.get()
    assert booked.status == AppointmentStatus.BOOKED
    assert booked.contact_email == "jane@example.org"
    assert booked.phone == "+31 6 12345678"
    names = list(Person.objects.filter(appointment=booked).order_by("position").values_list("first_name", "last_name"))
    assert names == [(f"Jane{n}", f"Doe-{n}") for n in range(1, persons + 1)]
    assert SlotClaim.objects.filter(appointment=booked, expires_at__isnull=True).count() == persons
    assert HOLD_KEY not in client.session
    assert list(OutboxEmail.objects.filter(appointment=booked).values_list("kind", flat=True)) == [
        EmailKind.CONFIRMATION
    ]

    with django_assert_max_num_queries(10):
        response = client.get(confirmation_url)
    assert response.status_code == 200
    content = page(response)
    assert "Your appointment is booked" in content
    local = timezone.localtime(booked.start, desk.tz)
    assert booked.reference in content
    assert local.strftime("%H:%M") in content
    assert f"{local.day} {local:%B} {local.year}" in content
    assert "https://www.openstreetmap.org/search?query=" in content
    assert "/appointment.ics" in content
    assert "/manage/" in content
    for n in range(1, persons + 1):
        assert f"Jane{n} Doe-{n}" in content

    # The manage link on the page opens the booking, and the .ics downloads.
    manage_path = re.search(r'href="(/[a-z0-9-]+/manage/[0-9a-f]{64}/)"', content).group(1)
    assert client.get(manage_path).status_code == 200
    ics = client.get(manage_path + "appointment.ics")
    assert ics.status_code == 200
    assert ics["Content-Type"].startswith("text/calendar")


def test_municipality_flow_books_with_municipality(client, desk, municipality_service):
    held, _times_url = hold_first_time(client, municipality_service, 2, municipality="Heerlen")
    assert held.municipality == "Heerlen"
    response = client.post(reverse("bookings:details"), details_data(2))
    assert response.status_code == 302
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_the_chosen_language_is_stored_on_the_booking(client, desk, service):
    hold_first_time(client, service, 1)
    client.post(reverse("bookings:details"), details_data(1, language="nl"))
    assert Appointment.objects.get().language == "nl"


def test_a_new_hold_lets_go_of_the_previous_one(client, desk, service):
    first, times_url = hold_first_time(client, service, 1)
    second_start = starts_on(client, times_url)[1]
    client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": "1", "start": second_start}
    )
    first.refresh_from_db()
    assert first.status == AppointmentStatus.CANCELLED
    assert not SlotClaim.objects.filter(appointment=first).exists()
    assert Appointment.objects.filter(status=AppointmentStatus.HELD).count() == 1
    assert not OutboxEmail.objects.exists()  # letting go of a hold e-mails nobody


# ---- a lapsed hold --------------------------------------------------------------------------------


def test_a_lapsed_hold_that_is_still_free_is_booked(client, desk, service):
    held, _ = hold_first_time(client, service, 2)
    lapse(held)
    response = client.get(reverse("bookings:details"))
    assert "The time we kept for you has run out." in page(response)
    response = client.post(reverse("bookings:details"), details_data(2))
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == AppointmentStatus.BOOKED
    assert Person.objects.filter(appointment=held).count() == 2


def test_a_lapsed_hold_swept_by_the_expiry_task_is_still_booked_when_free(client, desk, service):
    held, _ = hold_first_time(client, service, 1)
    lapse(held)
    actions.expire_holds(now=timezone.now())
    held.refresh_from_db()
    assert held.status == AppointmentStatus.EXPIRED
    response = client.post(reverse("bookings:details"), details_data(1))
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == AppointmentStatus.BOOKED


def test_slot_taken_between_hold_and_confirm(client, desk, service):
    held, _ = hold_first_time(client, service, 1)
    lapse(held)
    # Someone else books all three counters at that very time.
    actions.book_appointment(
        location=desk,
        service=service,
        start=held.start,
        names=[PersonName("Other", "Person")] * 3,
        contact_email="other@example.org",
        now=timezone.now(),
    )
    typed = details_data(1, first_name_1="Zoë Marie", last_name_1="van den Berg", phone="", language="nl")
    response = client.post(reverse("bookings:details"), typed)
    assert response.status_code == 409
    content = page(response)
    assert "Sorry, that time has just been taken." in content
    # Everything typed is still in the form.
    assert 'value="Zoë Marie"' in content
    assert 'value="van den Berg"' in content
    assert 'value="jane@example.org"' in content
    assert re.search(r'value="nl"[^>]*checked', content)
    # The nearest free times are offered as buttons that hold again.
    nearest = [html.unescape(v) for v in START_BUTTON.findall(content)]
    assert 1 <= len(nearest) <= 6
    assert held.start not in [datetime.fromisoformat(v) for v in nearest]
    # Nothing was written.
    held.refresh_from_db()
    assert held.status in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED)
    assert not Person.objects.filter(appointment=held).exists()
    assert not SlotClaim.objects.filter(appointment=held).exists()
    assert held.contact_email == ""
    assert client.session[DRAFT_KEY]["first_name_1"] == "Zoë Marie"
    assert "jane@example.org" not in response.request["QUERY_STRING"]

    # Choosing a nearest time holds it and brings the typed details back, then books.
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": "1", "start": nearest[0]}
    )
    assert response.status_code == 302
    assert "Zoë" not in response["Location"]
    content = page(client.get(reverse("bookings:details")))
    assert 'value="Zoë Marie"' in content and 'value="van den Berg"' in content
    response = client.post(reverse("bookings:details"), typed)
    assert response.status_code == 302
    booked = Appointment.objects.get(status=AppointmentStatus.BOOKED, contact_email="jane@example.org")
    assert booked.start == datetime.fromisoformat(nearest[0])
    assert booked.language == "nl"
    assert DRAFT_KEY not in client.session


# ---- bad answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persons", "message"),
    [
        ("0", "Please choose a number of persons from the list."),
        ("7", "Please choose a number of persons from the list."),
        ("abc", "Please choose a number of persons from the list."),
        ("", "Please choose the number of persons."),
    ],
)
def test_bad_number_of_persons(client, desk, service, persons, message):
    response = client.post(reverse("bookings:questions", kwargs={"service_code": service.code}), {"persons": persons})
    assert response.status_code == 400
    content = page(response)
    assert message in content
    assert 'aria-describedby="id_persons_helptext id_persons_error"' in content or "id_persons_error" in content
    assert Appointment.objects.count() == 0


def test_persons_above_the_service_maximum(client, desk):
    small = ServiceFactory(max_persons=2)
    offer(desk, [small])
    response = client.post(reverse("bookings:questions", kwargs={"service_code": small.code}), {"persons": "3"})
    assert "Please choose a number of persons from the list." in page(response)


@pytest.mark.parametrize(
    ("municipality", "message"),
    [
        ("", "Please choose the municipality you live in or are moving to."),
        ("Atlantis", "Please choose a municipality from the list."),
    ],
)
def test_bad_municipality(client, desk, municipality_service, municipality, message):
    url = reverse("bookings:questions", kwargs={"service_code": municipality_service.code})
    response = client.post(url, {"persons": "1", "municipality": municipality})
    assert response.status_code == 400
    assert message in page(response)
    assert Appointment.objects.count() == 0


def test_someone_outside_is_told_where_to_go_and_cannot_continue(client, desk, municipality_service):
    url = reverse("bookings:questions", kwargs={"service_code": municipality_service.code})
    content = page(client.get(url))
    assert "Another municipality" in content and ">Maastricht<" in content
    response = client.post(url, {"persons": "1", "municipality": "other"})
    assert response.status_code == 200
    content = page(response)
    assert "Please register at your own town hall" in content
    assert "town hall" in content
    assert "calendar" not in content
    # The calendar, times and hold refuse the same answer.
    calendar = reverse("bookings:calendar", kwargs={"service_code": municipality_service.code})
    assert "Please register at your own town hall" in page(
        client.get(calendar, {"persons": 1, "municipality": "other"})
    )
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": municipality_service.code}),
        {"persons": "1", "municipality": "other", "start": "2030-01-01T09:00:00+01:00"},
    )
    assert "Please register at your own town hall" in page(response)
    assert Appointment.objects.count() == 0


def test_outside_page_is_in_dutch_when_the_language_is_dutch(client, desk, municipality_service):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    url = reverse("bookings:questions", kwargs={"service_code": municipality_service.code})
    response = client.post(url, {"persons": "1", "municipality": "other"})
    assert '<html lang="nl">' in page(response)


def test_unknown_service_is_404_and_inactive_service_goes_back_to_start(client, desk, service):
    assert client.get(reverse("bookings:questions", kwargs={"service_code": "no-such-service"})).status_code == 404
    service.is_active = False
    service.save(update_fields=["is_active"])
    for url in (
        reverse("bookings:questions", kwargs={"service_code": service.code}),
        reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1",
    ):
        response = client.get(url, follow=True)
        assert response.redirect_chain[-1][0] == reverse("bookings:start")
        assert "This service cannot be booked at the moment." in page(response)


@pytest.mark.parametrize("query", ["", "?persons=0", "?persons=7", "?persons=abc"])
def test_calendar_with_bad_answers_asks_again(client, desk, service, query):
    response = client.get(reverse("bookings:calendar", kwargs={"service_code": service.code}) + query)
    assert response.status_code == 400
    assert "Please answer the questions first." in page(response)


@pytest.mark.parametrize("month", ["2026-13", "abc", "2026-1", "1999-01", "2099-01"])
def test_calendar_with_a_bad_month_redirects_with_a_message(client, desk, service, month):
    url = reverse("bookings:calendar", kwargs={"service_code": service.code})
    response = client.get(url, {"persons": 1, "month": month}, follow=True)
    assert response.redirect_chain
    assert response.status_code == 200
    assert 'role="alert"' in page(response)
    assert "month" in page(response)


def test_calendar_months_are_plain_links(client, desk, service):
    url = reverse("bookings:calendar", kwargs={"service_code": service.code})
    content = page(client.get(url, {"persons": 1}))
    next_month = re.search(r'href="([^"]+month=\d{4}-\d{2}[^"]*)"', content)
    assert next_month
    assert client.get(html.unescape(next_month.group(1))).status_code == 200


def test_no_free_day_in_the_horizon_is_said_plainly(client, desk):
    lonely = ServiceFactory()  # no counter serves it
    offer(desk, [lonely])
    response = client.get(reverse("bookings:calendar", kwargs={"service_code": lonely.code}), {"persons": 1})
    assert response.status_code == 200
    content = page(response)
    assert "There is no free day for this appointment until" in content
    assert not TIMES_LINK.search(content)


@pytest.mark.parametrize("day", ["2026-13-45", "2020-01-07", "2099-01-06"])
def test_times_with_a_bad_day_redirects_to_the_calendar(client, desk, service, day):
    url = reverse("bookings:times", kwargs={"service_code": service.code, "day": day})
    response = client.get(url, {"persons": 1})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("bookings:calendar", kwargs={"service_code": service.code}))


def test_times_with_a_non_date_is_404(client, desk, service):
    response = client.get(f"/{desk.slug}/book/{service.code}/not-a-date/?persons=1")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "start", ["", "tomorrow", "2030-01-01T09:00:00", "2020-01-07T09:00:00+01:00", "2030-01-01T09:07:00+01:00"]
)
def test_hold_with_a_bad_start_refuses_with_a_message(client, desk, service, start):
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": "1", "start": start}, follow=True
    )
    assert response.status_code == 200
    assert 'role="alert"' in page(response)
    assert Appointment.objects.count() == 0


def test_hold_with_bad_persons_goes_back_to_the_questions(client, desk, service):
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}),
        {"persons": "9", "start": "2030-01-01T09:00:00+01:00"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:questions", kwargs={"service_code": service.code})
    assert Appointment.objects.count() == 0


def test_hold_is_post_only(client, desk, service):
    assert client.get(reverse("bookings:hold", kwargs={"service_code": service.code})).status_code == 405


def test_details_without_session_go_back_to_start(client, desk, service):
    response = client.get(reverse("bookings:details"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("bookings:start")
    assert 'role="alert"' in page(response)
    response = client.post(reverse("bookings:details"), details_data(1))
    assert response.status_code == 302
    assert Appointment.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"first_name_2": ""}, "Please enter the first name(s) as on the ID."),
        ({"last_name_1": "  "}, "Please enter the last name as on the ID."),
        ({"email": "not-an-email"}, "Enter an e-mail address like name@example.com."),
        ({"phone": "call me"}, "Enter a phone number with digits only"),
        ({"consent": ""}, "Please agree to the privacy statement to book the appointment."),
        ({"language": "fr"}, "Select a valid choice."),
    ],
)
def test_details_bad_answers(client, desk, service, change, message):
    held, _ = hold_first_time(client, service, 2)
    data = {key: value for key, value in {**details_data(2), **change}.items() if value != ""}
    response = client.post(reverse("bookings:details"), data)
    assert response.status_code == 400
    content = page(response)
    assert message in content
    assert "is-invalid" in content
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD
    assert not Person.objects.exists()


# ---- languages and accessibility hooks ----------------------------------------------------------


def test_language_switch_on_every_page_sets_dutch(client, desk, service):
    content = page(client.get(reverse("bookings:start")))
    assert 'action="/i18n/setlang/"' in content
    assert f'name="next" value="/{desk.slug}/"' in content
    assert 'class="skip-link" href="#main"' in content
    assert content.count("<h1") == 1
    response = client.post("/i18n/setlang/", {"language": "nl", "next": reverse("bookings:start")})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nl"
    for url in (
        reverse("bookings:start"),
        reverse("bookings:questions", kwargs={"service_code": service.code}),
        reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1",
        reverse("bookings:find"),
        reverse("bookings:privacy"),
        "/no-such-page/",
    ):
        content = page(client.get(url))
        assert '<html lang="nl">' in content, url
        assert f'name="next" value="{url}"' in content.replace("&amp;", "&"), url
    # Service texts follow the language.
    assert service.name_nl in page(client.get(reverse("bookings:start")))


def test_the_404_page_uses_the_site_layout(client, desk):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    content = page(response)
    assert "Page not found" in content
    assert 'class="skip-link"' in content


def test_page_titles_change_per_step(client, desk, service):
    titles = set()
    for url in (
        reverse("bookings:start"),
        reverse("bookings:questions", kwargs={"service_code": service.code}),
        reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1",
    ):
        titles.add(re.search(r"<title>(.*?)</title>", page(client.get(url)), re.S).group(1))
    assert len(titles) == 3


def test_calendar_and_times_cost_the_same_queries_however_many_bookings(client, desk, service):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    times_url = first_times_url(client, calendar_url)

    def counts() -> tuple[int, int]:
        cache.clear()  # computed afresh: the free days and times are shared between visitors meanwhile
        forget_kept_claims()  # the lasting claims of the days that have some read again, in one query
        with CaptureQueriesContext(connection) as calendar_queries:
            assert client.get(calendar_url).status_code == 200
        with CaptureQueriesContext(connection) as times_queries:
            assert client.get(times_url).status_code == 200
        return len(calendar_queries), len(times_queries)

    now = timezone.now()
    starts = [datetime.fromisoformat(value) for value in starts_on(client, times_url)[:9]]
    actions.book_appointment(
        location=desk, service=service, start=starts[0], names=[PersonName("A", "B")], contact_email="", now=now
    )
    before = counts()
    for start in starts[1:]:
        actions.book_appointment(
            location=desk, service=service, start=start, names=[PersonName("A", "B")], contact_email="", now=now
        )
    assert counts() == before
    assert before[0] <= 8 and before[1] <= 8


def test_start_page_queries(client, desk, service, django_assert_num_queries):
    # session-less GET: services, location, opening hours, closures (issue 11: the upcoming closures are
    # listed); the header and the footer reuse the location. The same four however many rows there are.
    today = timezone.localdate()
    for days in range(1, 6):
        day = today + timedelta(days=days)
        Closure.objects.create(location=desk, start_date=day, end_date=day, reason=f"Closed {days}")
    OpeningHoursFactory(location=desk, weekday=4, valid_from=today + timedelta(days=30))
    url = reverse("bookings:start")
    with django_assert_num_queries(4):
        assert client.get(url).status_code == 200


def test_page_title_says_error_when_the_form_has_errors(client, desk, service):
    url = reverse("bookings:questions", kwargs={"service_code": service.code})
    assert "<title>Error:" not in page(client.get(url))
    assert "<title>Error:" in page(client.post(url, {"persons": "0"}))


def test_hold_on_a_time_taken_meanwhile_goes_back_to_the_times_with_the_reason(
    client, desk, service, django_capture_on_commit_callbacks
):
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    times_url = first_times_url(client, calendar_url)
    start = starts_on(client, times_url)[0]
    with django_capture_on_commit_callbacks(execute=True):  # its commit drops the shared free times
        actions.book_appointment(
            location=desk,
            service=service,
            start=datetime.fromisoformat(start),
            names=[PersonName("Other", "Person")] * 3,
            contact_email="other@example.org",
            now=timezone.now(),
        )
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": "1", "start": start}
    )
    assert response.status_code == 302
    assert response["Location"] == times_url
    content = page(client.get(response["Location"]))
    assert "Sorry, that time has just been taken. Please pick another." in content
    assert start not in [html.unescape(v) for v in START_BUTTON.findall(content)]
    assert not Appointment.objects.filter(status=AppointmentStatus.HELD).exists()


def test_in_dutch_the_flow_holds_in_dutch_and_the_details_default_to_dutch(client, desk, service):
    client.post("/i18n/setlang/", {"language": "nl", "next": "/"})
    held, _ = hold_first_time(client, service, 1)
    assert held.language == "nl"
    content = page(client.get(reverse("bookings:details")))
    assert '<html lang="nl">' in content
    assert re.search(r'value="nl"[^>]*checked', content)
    client.post(reverse("bookings:details"), {k: v for k, v in details_data(1).items() if k != "language"})
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD  # the language is required; nothing is written without it
    response = client.post(reverse("bookings:details"), details_data(1, language="nl"))
    held.refresh_from_db()
    assert (held.status, held.language) == (AppointmentStatus.BOOKED, "nl")
    assert '<html lang="nl">' in page(client.get(response["Location"]))
