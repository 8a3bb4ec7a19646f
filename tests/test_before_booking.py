"""Issue 11: before booking, people know what they are booking — how long, where exactly, what to bring,
when the desk is closed and why, how far ahead they can book — and the desk has one name and a contact.

Views use timezone.now(): the page tests read the days from the pages themselves; the calendar rules
(today's hours, coming changes, closed days) are also tested on fixed dates through bookings.desk_info.
"""

import html
import re
from datetime import date, datetime, time, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from bookings import actions, desk_info
from bookings.models import Closure, Location, OpeningHours
from bookings.opening_hours import HoursChange
from tests.support.factories import ServiceFactory, offer
from tests.support.public_flow import (
    START_BUTTON,
    details_data,
    first_times_url,
    hold_first_time,
    page,
)
from tests.support.urls import reverse

TIME_LABEL = re.compile(r'name="start" value="([^"]+)"[^>]*>(\d{2}:\d{2})–(\d{2}:\d{2})</button>')


@pytest.fixture
def visiting(desk, service):
    """The desk with the texts a visitor needs, in English and Dutch."""
    Location.objects.filter(pk=desk.pk).update(
        public_name="Expat Centre Maastricht Region",
        directions_en="First floor, expat desk, counters 1 to 3.",
        directions_nl="Eerste verdieping, expatbalie, loket 1 tot en met 3.",
        contact_email="desk@expatcentre.example.org",
        contact_phone="+31 43 123 4567",
    )
    service.what_to_bring_en = "A valid passport for every person."
    service.what_to_bring_nl = "Een geldig paspoort van iedere persoon."
    service.save(update_fields=["what_to_bring_en", "what_to_bring_nl"])
    desk.refresh_from_db()
    return desk


def dutch(client) -> None:
    client.post("/i18n/setlang/", {"language": "nl", "next": "/"})


# ---- what, how long, where: before a time is chosen -------------------------------------------------


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "en",
            [
                "A valid passport for every person.",
                "About 15 minutes per person.",
                "First floor, expat desk, counters 1 to 3.",
                "Please arrive 10 minutes before your appointment.",
                "You can book up to 42 days ahead.",
            ],
        ),
        (
            "nl",
            [
                "Een geldig paspoort van iedere persoon.",
                "Ongeveer 15 minuten per persoon.",
                "Eerste verdieping, expatbalie, loket 1 tot en met 3.",
                "Kom 10 minuten voor uw afspraak.",
                "U kunt tot 42 dagen vooruit boeken.",
            ],
        ),
    ],
)
def test_the_questions_page_says_what_to_bring_how_long_and_where_to_go(client, visiting, service, language, texts):
    if language == "nl":
        dutch(client)
    content = page(client.get(reverse("bookings:questions", kwargs={"service_code": service.code})))
    for text in texts:
        assert text in content
    assert visiting.street in content and visiting.postcode in content
    assert 'href="https://www.openstreetmap.org/search?query=Mosae+Forum+10%2C+6211+DW+Maastricht"' in content


def test_the_times_page_shows_each_times_end_for_the_chosen_persons_and_where_to_go(client, visiting, service):
    # Four persons on three counters: two rounds of 15 minutes, so every time ends 30 minutes after it starts.
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=4"
    content = page(client.get(first_times_url(client, calendar_url)))
    times = TIME_LABEL.findall(content)
    assert times
    for value, start, end in times:
        assert start == html.unescape(value)[11:16]
        assert (int(end[:2]) * 60 + int(end[3:])) - (int(start[:2]) * 60 + int(start[3:])) == 30
    for text in ("A valid passport for every person.", "First floor, expat desk", "Please arrive 10 minutes"):
        assert text in content
    assert "Each time below shows when your appointment ends." in content


def test_the_confirmation_and_the_manage_page_show_the_municipality(client, visiting):
    registration = ServiceFactory(requires_municipality=True)
    for counter in visiting.counters.all():
        counter.services.add(registration)
        offer(counter.location, [registration])
    hold_first_time(client, registration, 1, municipality="Heerlen")
    response = client.post(reverse("bookings:details"), details_data(1))
    content = page(client.get(response["Location"]))  # the confirmation is shown at the manage address
    assert "<dt>Municipality</dt><dd>Heerlen</dd>" in content
    assert "First floor, expat desk" in content


def test_the_details_page_offers_another_time_of_the_same_day(client, desk, service):
    held, times_url = hold_first_time(client, service, 2)
    content = page(client.get(reverse("bookings:details")))
    link = re.search(r'<a href="([^"]+)">Choose another time</a>', content)
    assert link
    assert html.unescape(link.group(1)) == times_url
    assert client.get(times_url).status_code == 200


# ---- closed days say so, with their name; the horizon is said up front -------------------------------


def first_free_day(client, service) -> date:
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    return date.fromisoformat(re.search(r"/(\d{4}-\d{2}-\d{2})/", first_times_url(client, calendar_url)).group(1))


def test_a_closed_day_says_closed_with_the_closures_name_not_no_free_times(
    client, desk, service, django_capture_on_commit_callbacks
):
    day = first_free_day(client, service)
    with django_capture_on_commit_callbacks(execute=True):  # its commit drops the shared free days
        actions.add_closure(location=desk, start_date=day, end_date=day, reason="Staff training", now=timezone.now())
    times_url = reverse("bookings:times", kwargs={"service_code": service.code, "day": day.isoformat()})
    response = client.get(times_url + "?persons=1", follow=True)
    content = page(response)
    assert "The desk is closed on" in content and "Staff training" in content
    assert "no free times left" not in content

    # The calendar crosses the day out, says why to screen readers, and lists it under the month.
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code})
    content = page(client.get(calendar_url, {"persons": "1", "month": day.strftime("%Y-%m")}))
    assert f'<td class="closed">{day.day}<span class="visually-hidden">: closed (Staff training)</span></td>' in content
    assert f"<li>{day:%A} {day.day} {day:%B}: Staff training</li>" in content
    assert "You can book up to 42 days ahead, until" in content


def test_a_full_day_still_says_no_free_times_left(client, desk, service, django_capture_on_commit_callbacks):
    day = first_free_day(client, service)
    now = timezone.now()
    times_url = reverse("bookings:times", kwargs={"service_code": service.code, "day": day.isoformat()})
    for value in START_BUTTON.findall(page(client.get(times_url + "?persons=1"))):
        for _counter in range(3):
            with django_capture_on_commit_callbacks(execute=True):  # each commit drops the shared free times
                actions.book_appointment(
                    location=desk,
                    service=service,
                    start=datetime.fromisoformat(html.unescape(value)),
                    names=[actions.PersonName("A", "B")],
                    now=now,
                )
    content = page(client.get(times_url + "?persons=1", follow=True))
    assert "There are no free times left on that day" in content


def test_a_day_beyond_the_horizon_says_how_far_ahead_one_can_book(client, desk, service):
    day = timezone.localdate() + timedelta(days=service.booking_horizon_days + 3)
    times_url = reverse("bookings:times", kwargs={"service_code": service.code, "day": day.isoformat()})
    content = page(client.get(times_url + "?persons=1", follow=True))
    assert "you can book up to 42 days ahead" in content


def test_the_start_page_lists_upcoming_closures_and_the_horizon(client, desk, service):
    today = timezone.localdate()
    first = today + timedelta(days=((1 - today.weekday()) % 7) or 7)  # a Tuesday to come: the desk opens
    Closure.objects.create(location=desk, start_date=first, end_date=first + timedelta(days=1), reason="Moving house")
    Closure.objects.create(
        location=None, start_date=first + timedelta(days=7), end_date=first + timedelta(days=7), reason="Everywhere"
    )
    content = page(client.get(reverse("bookings:start")))
    assert "Closed days coming up" in content
    assert f"{first:%A} {first.day} {first:%B} to " in content and ": Moving house</li>" in content
    assert ": Everywhere</li>" in content
    assert "You can book up to 42 days ahead." in content


# ---- the start page's opening hours: today's, and the changes to come --------------------------------


def test_the_start_page_shows_todays_hours_and_a_coming_change_plainly(client, desk, service):
    today = timezone.localdate()
    change_day = today + timedelta(days=20)
    actions.change_opening_hours(
        location=desk,
        change=HoursChange(weekday=1, intervals=((time(10, 0), time(14, 0)),), valid_from=change_day),
        now=timezone.now(),
    )
    # A dated closure of Wednesdays cuts their rows in two: the page must not show them twice.
    actions.change_opening_hours(
        location=desk,
        change=HoursChange(
            weekday=2, intervals=(), valid_from=today + timedelta(days=50), valid_until=today + timedelta(days=60)
        ),
        now=timezone.now(),
    )
    content = page(client.get(reverse("bookings:start")))
    assert "<li><strong>Tuesday</strong>: 09:00–12:30, 13:30–17:00</li>" in content
    assert "<li><strong>Wednesday</strong>: 09:00–12:30, 13:30–17:00</li>" in content
    assert content.count("<strong>Wednesday</strong>") == 1
    assert "10:00–14:00" in content  # only in the coming change
    assert f"From {change_day.day} {change_day:%B} {change_day.year}:</strong>\n  Tuesday 10:00–14:00." in content
    assert "Wednesday closed" in content


def rows(*specs) -> list[OpeningHours]:
    return [
        OpeningHours(weekday=weekday, start_time=start, end_time=end, valid_from=start_date, valid_until=until)
        for weekday, start, end, start_date, until in specs
    ]


MORNING, AFTERNOON, LATE = (time(9), time(12, 30)), (time(13, 30), time(17)), (time(10), time(14))


def test_todays_hours_take_only_the_rows_valid_today():
    today = date(2026, 12, 1)
    week = rows(
        (1, *MORNING, None, date(2027, 1, 4)),
        (1, *AFTERNOON, None, date(2027, 1, 4)),
        (1, *LATE, date(2027, 1, 5), None),
        (2, *MORNING, None, date(2026, 12, 8)),
        (2, *MORNING, date(2026, 12, 23), None),  # Wednesdays closed 9–22 December: two rows, one interval
    )
    assert desk_info.opening_week(week, today=today) == [
        desk_info.WeekdayHours(1, (MORNING, AFTERNOON)),
        desk_info.WeekdayHours(2, (MORNING,)),
    ]
    assert desk_info.coming_changes(week, today=today) == [
        desk_info.HoursChange(date(2026, 12, 9), (desk_info.WeekdayHours(2, ()),)),
        desk_info.HoursChange(date(2026, 12, 23), (desk_info.WeekdayHours(2, (MORNING,)),)),
        desk_info.HoursChange(date(2027, 1, 5), (desk_info.WeekdayHours(1, (LATE,)),)),
    ]


def test_closed_days_name_closures_and_public_holidays_on_open_days_only():
    week = rows(*((weekday, *MORNING, None, None) for weekday in range(5)))  # Monday to Friday
    closures = [Closure(start_date=date(2026, 12, 28), end_date=date(2026, 12, 31), reason="Year end")]
    closed = desk_info.closed_days(rows=week, closures=closures, start=date(2026, 12, 21), end=date(2027, 1, 3))
    assert closed == {
        date(2026, 12, 25): "Christmas Day",
        # 26 December is a Saturday: the desk is closed anyway.
        date(2026, 12, 28): "Year end",
        date(2026, 12, 29): "Year end",
        date(2026, 12, 30): "Year end",
        date(2026, 12, 31): "Year end",
        date(2027, 1, 1): "New Year's Day",
    }
    periods = desk_info.upcoming_closures(
        rows=week, closures=closures, today=date(2026, 12, 21), until=date(2027, 1, 3)
    )
    assert periods == [
        desk_info.ClosedPeriod(date(2026, 12, 25), date(2026, 12, 25), "Christmas Day"),
        desk_info.ClosedPeriod(date(2026, 12, 28), date(2026, 12, 31), "Year end"),
        desk_info.ClosedPeriod(date(2027, 1, 1), date(2027, 1, 1), "New Year's Day"),
    ]
    assert desk_info.closed_reason(rows=week, closures=closures, day=date(2026, 12, 26)) == ""
    assert desk_info.closed_reason(rows=week, closures=closures, day=date(2026, 12, 22)) is None


# ---- one name, and a contact, everywhere ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["bookings:start", "bookings:find", "bookings:privacy", "bookings:accessibility"])
def test_every_page_has_the_desks_public_name_in_its_title_and_its_contact_in_the_footer(client, visiting, name):
    content = page(client.get(reverse(name)))
    title = re.search(r"<title>(.*?)</title>", content, re.S).group(1)
    assert title.endswith("· Expat Centre Maastricht Region")
    assert "Expat desk South Limburg" not in content
    footer = content[content.index("<footer") :]
    assert 'href="mailto:desk@expatcentre.example.org"' in footer
    assert 'href="tel:+31431234567">+31 43 123 4567</a>' in footer


def test_the_header_and_footer_cost_no_extra_query(client, visiting, django_assert_num_queries):
    with django_assert_num_queries(1):  # the location, once for the header, the title and the footer
        assert client.get(reverse("bookings:privacy")).status_code == 200


# ---- the refusal of a second booking with the same address ------------------------------------------


@override_settings(EXPATDESK_ONE_BOOKING_PER_EMAIL=True)
def test_the_same_address_refusal_is_shown_once_beside_the_e_mail_field_with_a_working_link(client, desk, service):
    hold_first_time(client, service, 1)
    client.post(reverse("bookings:details"), details_data(1))
    hold_first_time(client, service, 1)
    response = client.post(reverse("bookings:details"), details_data(1))
    assert response.status_code == 409
    content = page(response)
    refusal = "There is already an appointment for this service with this e-mail address."
    assert content.count(refusal) == 1
    beside_email = content[content.index('id="id_email_error"') :]
    assert beside_email.index(refusal) < beside_email.index("</div>")
    link = re.search(r"find my booking</a>", beside_email[: beside_email.index("</div>")])
    assert link and f'<a href="{reverse("bookings:find")}">find my booking</a>' in beside_email
    assert client.get(reverse("bookings:find")).status_code == 200
