"""The KPI dashboard (issue 14 part 2): figures equal to hand-counted fixtures, the daily days-to-first-
free-slot record idempotent, queries constant in the size of the history, CSV of every table, 4xx for
bad input, and only for admins and desk leads."""

import re
from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import AppointmentStatus, EmailKind, OutboxEmail, OutboxStatus
from insights import actions, kpis
from insights.kpis import Period
from insights.models import Feedback, FirstFreeDayRecord
from insights.permissions import DESK_LEADS_GROUP
from tests.support.desk import desk_admin, desk_staff, sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import ServiceFactory, make_desk, offer
from tests.support.insights import make_appointment, make_employer

pytestmark = pytest.mark.django_db

DECEMBER = Period(kind="month", first=date(2026, 12, 1), last=date(2026, 12, 31))
NOW = datetime(2026, 12, 20, 12, 0, tzinfo=AMSTERDAM)


def at(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


def sent_feedback(appointment, score=None):
    OutboxEmail.objects.create(
        appointment=appointment,
        kind=EmailKind.FEEDBACK,
        status=OutboxStatus.SENT,
        created_at=appointment.start,
        sent_at=appointment.start,
    )
    if score is not None:
        Feedback.objects.create(
            appointment=appointment, score=score, created_at=appointment.start, updated_at=appointment.start
        )


@pytest.fixture
def december(desk, service):
    """December 2026 at the desk, counted by hand (see the expected figures in the tests)."""
    staff = desk_staff("desk-canceller")
    employer = make_employer()
    S = AppointmentStatus
    one = make_appointment(
        desk,
        service,
        start=at(1, 9),
        status=S.DONE,
        checked_in_at=at(1, 9),
        started_at=at(1, 9, 5),
        done_at=at(1, 9, 15),
        municipality="Maastricht",
    )  # waiting 5, service 10
    two = make_appointment(
        desk,
        service,
        start=at(2, 10),
        status=S.DONE,
        persons=2,
        checked_in_at=at(2, 10),
        started_at=at(2, 10, 10),
        done_at=at(2, 10, 30),
        municipality="Heerlen",
        employer=employer,
    )  # waiting 10, service 20
    walk_in = make_appointment(
        desk,
        service,
        start=at(3, 11),
        status=S.DONE,
        walk_in=True,
        started_at=at(3, 11, 2),
        done_at=at(3, 11, 12),
        municipality="Maastricht",
    )  # waiting 2, service 10
    make_appointment(desk, service, start=at(8, 9), status=S.NO_SHOW)
    make_appointment(desk, service, start=at(8, 10), status=S.CANCELLED)
    make_appointment(desk, service, start=at(9, 10), status=S.CANCELLED, cancelled_by=staff, employer=employer)
    make_appointment(desk, service, start=at(15, 9), status=S.BOOKED)
    no_start = make_appointment(
        desk,
        service,
        start=at(10, 14),
        status=S.DONE,
        checked_in_at=at(10, 14),
        started_at=at(10, 14, 20),
        done_at=at(10, 14, 20),
    )  # done without a recorded start: no waiting or service time, no municipality
    # Outside the period, or at another location: not counted.
    make_appointment(desk, service, start=at(26, 9, month=11), status=S.DONE, municipality="Maastricht")
    make_appointment(desk, service, start=at(5, 9, month=1, year=2027), status=S.DONE, municipality="Maastricht")
    other = make_desk(services=[service])
    make_appointment(other, service, start=at(2, 9), status=S.DONE, municipality="Maastricht")
    sent_feedback(one, 9)
    sent_feedback(two, 10)
    sent_feedback(walk_in, 7)
    sent_feedback(no_start)
    for day, days in ((1, 1), (2, 2), (3, None)):
        FirstFreeDayRecord.objects.create(
            location=desk,
            service=service,
            day=date(2026, 12, day),
            days_to_first_free=days,
            first_free_day=date(2026, 12, day) + timedelta(days=days) if days is not None else None,
            recorded_at=NOW,
        )
    FirstFreeDayRecord.objects.create(
        location=desk, service=service, day=date(2026, 11, 30), days_to_first_free=9, recorded_at=NOW
    )
    return desk


def load(location, service, period=DECEMBER, only=None):
    return kpis.load_dashboard(location=location, service=only, period=period, services=[service], now=NOW)


def test_the_counts_equal_the_hand_count(december, service):
    counts = load(december, service).counts
    assert (counts.booked, counts.served, counts.walk_ins) == (7, 4, 1)
    assert (counts.cancelled_online, counts.cancelled_by_desk, counts.no_shows) == (1, 1, 1)
    assert counts.expected == 5
    assert counts.no_show_rate == pytest.approx(1 / 5)
    assert (counts.by_employers, counts.employer_share) == (2, pytest.approx(2 / 7))


def test_the_times_equal_the_hand_count(december, service):
    counts = load(december, service).counts
    assert counts.lead_time == timedelta(days=3)
    assert counts.waiting_time.total_seconds() == pytest.approx((5 + 10 + 2) / 3 * 60)
    assert counts.service_time.total_seconds() == pytest.approx((10 + 20 + 10) / 3 * 60)


def test_counter_time_utilisation_is_booked_over_open_counter_time(december, service):
    use = load(december, service).utilisation
    # Kept their time: three done + the one without a start (1 person each, one of 2), the no-show, the
    # booked one: 7 persons x 15 minutes.
    assert use.booked_minutes == 7 * 15
    # December 2026: 15 Tuesdays, Wednesdays and Thursdays, 7 hours each, 3 counters.
    assert use.open_minutes == 15 * 7 * 60 * 3
    assert use.rate == pytest.approx(105 / 18900)


def test_the_rating_equals_the_hand_count(december, service):
    rating = load(december, service).rating
    assert rating.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 1, 8: 0, 9: 1, 10: 1}
    assert rating.average == pytest.approx(26 / 3)
    assert (rating.responses, rating.sent) == (3, 4)
    assert rating.response_rate == pytest.approx(3 / 4)


def test_served_per_municipality_per_month_and_the_first_free_history(december, service):
    dashboard = load(december, service)
    assert dashboard.municipalities.months == [date(2026, 12, 1)]
    assert dashboard.municipalities.rows == [("Heerlen", [1]), ("Maastricht", [2])]
    [series] = dashboard.first_free
    assert series.points == [(date(2026, 12, 1), 1), (date(2026, 12, 2), 2), (date(2026, 12, 3), None)]


def test_a_period_over_two_months_has_a_column_per_month(december, service):
    period = Period(kind="custom", first=date(2026, 11, 1), last=date(2027, 1, 31))
    table = load(december, service, period=period).municipalities
    assert table.months == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert dict(table.rows) == {"Heerlen": [0, 1, 0], "Maastricht": [1, 2, 1]}


def test_one_service_only(december, service):
    from tests.support.factories import ServiceFactory

    other = ServiceFactory()
    counts = kpis.load_dashboard(
        location=december, service=other, period=DECEMBER, services=[service, other], now=NOW
    ).counts
    assert (counts.booked, counts.served) == (0, 0)


# ---- the daily record ------------------------------------------------------------------------


def test_the_daily_first_free_record_is_one_row_a_day_however_often_it_runs(desk, service, monday_morning):
    first = actions.record_first_free_days(now=monday_morning)
    assert (first.written, first.already_there) == (1, 0)
    again = actions.record_first_free_days(now=monday_morning + timedelta(hours=5))
    assert (again.written, again.already_there) == (0, 1)
    [record] = FirstFreeDayRecord.objects.all()
    # Monday: the desk opens on Tuesday.
    assert (record.day, record.first_free_day, record.days_to_first_free) == (
        date(2026, 11, 30),
        date(2026, 12, 1),
        1,
    )
    assert record.recorded_at == monday_morning
    actions.record_first_free_days(now=monday_morning + timedelta(days=1))
    assert FirstFreeDayRecord.objects.count() == 2


def test_the_beat_task_records_the_day(desk, service):
    from insights.tasks import record_first_free_days_task

    assert record_first_free_days_task.apply().get() == 1
    assert record_first_free_days_task.apply().get() == 0


# ---- the page --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    return sign_in(client, desk_admin())


def page_url(place, **params) -> str:
    query = {"location": place.pk, "period": "month", "day": "2026-12-01", **params}
    return reverse("insights:dashboard") + "?" + "&".join(f"{key}={value}" for key, value in query.items())


def test_the_page_shows_every_section_with_its_chart_table_summary_and_csv(admin_client, december, monkeypatch):
    monkeypatch.setattr("desk.clock.now", lambda: NOW)
    response = admin_client.get(page_url(december))
    assert response.status_code == 200
    html = response.content.decode()
    for title in (
        "Appointments",
        "Rating",
        "Days to the first free slot",
        "Times and counter use",
        "Served per municipality per month",
        "Waitlist",
    ):
        assert f">{title}</h2>" in html
    assert html.count("<svg") == 4
    assert html.count("<table") == 6  # the waitlist's table too (no chart: a short list)
    assert "20.0 %" in html  # the no-show rate
    assert "no-show rate 20.0 %" in html
    # The strict CSP: no inline script or style on the page.
    assert "<script>" not in html and " style=" not in html and "<style" not in html
    for key in ("appointments", "rating", "first_free", "times", "municipalities"):
        assert reverse("insights:dashboard_csv", kwargs={"table": key}) in html


def test_the_page_in_dutch(admin_client, december, monkeypatch):
    monkeypatch.setattr("desk.clock.now", lambda: NOW)
    response = admin_client.get(page_url(december), HTTP_ACCEPT_LANGUAGE="nl")
    html = response.content.decode()
    assert "Afspraken" in html
    assert "20,0 %" in html
    # The charts' coordinates are never localised ("112,5" is no SVG number); the tick labels are.
    assert not re.search(r'\s(x|y|x1|y1|x2|y2|cx|cy|width|height)="[^"]*,', html)
    assert ">2,5</text>" in html


def test_every_table_downloads_as_csv_for_dutch_excel(admin_client, december, monkeypatch):
    monkeypatch.setattr("desk.clock.now", lambda: NOW)
    for key in ("appointments", "rating", "first_free", "times", "municipalities"):
        url = (
            reverse("insights:dashboard_csv", kwargs={"table": key})
            + page_url(december)[len(reverse("insights:dashboard")) :]
        )
        response = admin_client.get(url)
        assert response.status_code == 200, key
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        body = response.content.decode("utf-8")
        assert body.startswith("\ufeff")
        assert ";" in body.splitlines()[0]
    body = admin_client.get(
        reverse("insights:dashboard_csv", kwargs={"table": "municipalities"}) + "?" + page_url(december).split("?")[1]
    ).content.decode("utf-8")
    assert "Heerlen;1;1" in body and "Maastricht;2;2" in body
    waitlist = admin_client.get(
        reverse("insights:dashboard_csv", kwargs={"table": "waitlist"}) + "?" + page_url(december).split("?")[1]
    )
    assert waitlist.status_code == 200 and waitlist.content.decode("utf-8").startswith("\ufeff")
    assert admin_client.get(reverse("insights:dashboard_csv", kwargs={"table": "nonsense"})).status_code == 404


@pytest.mark.parametrize(
    "params, message",
    [
        ({"period": "custom"}, "Give both the first and the last day of the period."),
        (
            {"period": "custom", "start": "2026-12-10", "end": "2026-12-01"},
            "The last day must not be before the first.",
        ),
        ({"period": "custom", "start": "2025-01-01", "end": "2026-12-01"}, "A period can be at most 366 days long."),
        ({"period": "year"}, "Select a valid choice."),
        ({"day": "yesterday"}, "Enter a valid date."),
        ({"location": "999999"}, "Select a valid choice."),
    ],
)
def test_bad_input_is_a_400_with_a_message(admin_client, desk, params, message):
    response = admin_client.get(page_url(desk, **params))
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_week_and_a_custom_period(admin_client, december, monkeypatch):
    monkeypatch.setattr("desk.clock.now", lambda: NOW)
    week = admin_client.get(page_url(december, period="week", day="2026-12-03"))
    assert week.status_code == 200
    assert week.context["dashboard"].period == Period(kind="week", first=date(2026, 11, 30), last=date(2026, 12, 6))
    custom = admin_client.get(page_url(december, period="custom", start="2026-12-02", end="2026-12-02"))
    assert custom.context["dashboard"].counts.served == 1


def test_only_admins_and_desk_leads_see_it(client, desk):
    url = reverse("insights:dashboard")
    assert client.get(url).status_code == 302  # to the login
    staff = desk_staff("plain-desk")
    sign_in(client, staff)
    assert client.get(url).status_code == 403
    staff.groups.add(Group.objects.get_or_create(name=DESK_LEADS_GROUP)[0])
    client.logout()
    sign_in(client, staff)
    assert client.get(url).status_code == 200


def test_a_desk_lead_sees_the_figures_of_their_own_locations_only(client, december, service, monkeypatch):
    """Staff are scoped to their locations (README "Staff and locations"): a desk lead of A is offered A only,
    and B's figures are not theirs to ask for."""
    monkeypatch.setattr("desk.clock.now", lambda: NOW)
    other = make_desk(services=[service], name="Other desk")
    lead = desk_staff("lead-of-a", locations=[december])
    lead.groups.add(Group.objects.get_or_create(name=DESK_LEADS_GROUP)[0])
    sign_in(client, lead)
    page = client.get(page_url(december))
    assert page.status_code == 200
    assert "Other desk" not in page.content.decode()
    assert client.get(page_url(other)).status_code == 400  # not one of the choices: nothing of B is shown


# ---- bounded cost ----------------------------------------------------------------------------


def _history(location, service, *, months: int) -> None:
    """`months` of past appointments, feedback and daily records before December 2026."""
    S = AppointmentStatus
    for month in range(1, months + 1):
        first = (date(2026, 12, 1) - timedelta(days=31 * month)).replace(day=8)
        start = datetime(first.year, first.month, first.day, 9, 0, tzinfo=AMSTERDAM)
        for n, status in enumerate([S.DONE, S.DONE, S.NO_SHOW, S.CANCELLED]):
            appointment = make_appointment(
                location,
                service,
                start=start + timedelta(minutes=15 * n),
                status=status,
                checked_in_at=start,
                started_at=start,
                done_at=start + timedelta(minutes=10),
                municipality="Maastricht",
            )
            if status == S.DONE:
                sent_feedback(appointment, 8)
        FirstFreeDayRecord.objects.create(
            location=location, service=service, day=first, days_to_first_free=2, recorded_at=NOW
        )


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_with_little_and_with_much_history(
    admin_client, december, service, monkeypatch
):
    monkeypatch.setattr("desk.clock.now", lambda: NOW)
    url = page_url(december)
    _count_queries(admin_client, url)  # warm the session and caches
    little = _count_queries(admin_client, url)
    _history(december, service, months=24)
    much = _count_queries(admin_client, url)
    assert much == little
    assert little <= 20
    csv_url = reverse("insights:dashboard_csv", kwargs={"table": "municipalities"}) + "?" + url.split("?")[1]
    assert _count_queries(admin_client, csv_url) <= little


def test_the_summaries_are_sentences(admin_client, december, monkeypatch):
    monkeypatch.setattr("desk.clock.now", lambda: NOW)
    html = admin_client.get(page_url(december)).content.decode()
    summaries = re.findall(r'<p class="insights-summary">([^<]+)</p>', html)
    assert len(summaries) == 6
    assert all(summary.strip().endswith(".") for summary in summaries)


def test_the_waitlist_section_counts_who_is_waiting_per_service(december, service):
    from tests.support.waitlist import make_entry

    other = ServiceFactory()
    offer(december, [other])
    for number in range(3):
        make_entry(location=december, service=service, now=NOW, email=f"wait{number}@example.org")
    make_entry(location=december, service=other, now=NOW)
    dashboard = load(december, service)
    assert dict(dashboard.waitlist) == {service: 3, other: 1}
    assert load(december, service, only=other).waitlist == [(other, 1)]
