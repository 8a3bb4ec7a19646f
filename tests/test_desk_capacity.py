"""The admins' capacity preview: six weeks of free and booked capacity, and a closure's effect before saving."""

from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import actions
from bookings.actions import BookingError
from bookings.models import Closure
from desk import clock
from desk.selectors import capacity_preview
from tests.support.configuration import forget_kept_configurations
from tests.support.desk import book, desk_admin, desk_staff, sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import ServiceFactory

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def admin_client(client, db):
    return sign_in(client, desk_admin())


@pytest.fixture(autouse=True)
def desk_time(monkeypatch, monday_morning):
    monkeypatch.setattr(clock, "now", lambda: monday_morning)


def test_preview_counts_free_and_booked_per_day_and_service(desk, service, monday_morning):
    book(desk, service, at(TUESDAY, 10), now=monday_morning)
    preview = capacity_preview(location=desk, now=monday_morning)
    assert len(preview.days) == 42
    assert preview.services == [service]
    by_day = {row.day: row.cells[0] for row in preview.days}
    # 28 starts a day on three counters; one booking takes one of three counters at 10:00 only.
    assert by_day[TUESDAY].booked == 1
    assert by_day[TUESDAY].free == 28
    assert by_day[date(2026, 11, 30)].free == 0  # Monday: closed
    assert by_day[WEDNESDAY] == by_day[WEDNESDAY].__class__(free=28, free_after=28, booked=0)


def test_a_proposed_closure_shows_its_effect_and_the_appointments_on_it(desk, service, monday_morning):
    on_it = book(desk, service, at(WEDNESDAY, 11), now=monday_morning)
    preview = capacity_preview(location=desk, now=monday_morning, closure=(WEDNESDAY, WEDNESDAY))
    by_day = {row.day: row for row in preview.days}
    assert by_day[WEDNESDAY].cells[0].free == 28
    assert by_day[WEDNESDAY].cells[0].free_after == 0
    assert by_day[WEDNESDAY].closed_after and by_day[WEDNESDAY].changes
    assert not by_day[TUESDAY].changes
    assert [row.appointment for row in preview.affected] == [on_it]
    assert not Closure.objects.exists()  # a preview saves nothing


def test_preview_costs_the_same_queries_whatever_is_booked(desk, service, monday_morning):
    ServiceFactory()  # a service no counter offers is left out
    counts = []
    for bookings in (0, 5):
        for index in range(bookings):
            book(desk, service, at(TUESDAY, (9, 10, 11, 14, 15)[index]), now=monday_morning)
        forget_kept_configurations()
        with CaptureQueriesContext(connection) as queries:
            capacity_preview(location=desk, now=monday_morning, closure=(TUESDAY, TUESDAY))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_closure_over_booked_days_is_refused_until_they_are_moved(desk, service, monday_morning):
    on_it = book(desk, service, at(WEDNESDAY, 11), now=monday_morning)
    with pytest.raises(BookingError) as error:
        actions.add_closure(
            location=desk, start_date=WEDNESDAY, end_date=WEDNESDAY, reason="Staff outing", now=monday_morning
        )
    assert error.value.code == actions.APPOINTMENTS_IN_CLOSURE
    assert "1 appointment falls on these days" in str(error.value.message)
    assert not Closure.objects.exists()
    actions.move_appointment(appointment=on_it, new_start=at(TUESDAY, 11), now=monday_morning, actor=None)
    closure = actions.add_closure(
        location=desk, start_date=WEDNESDAY, end_date=WEDNESDAY, reason="Staff outing", now=monday_morning
    )
    assert (closure.location, closure.start_date, closure.reason) == (desk, WEDNESDAY, "Staff outing")


def test_closure_needs_a_reason_and_an_order(desk, monday_morning):
    with pytest.raises(BookingError):
        actions.add_closure(location=desk, start_date=TUESDAY, end_date=TUESDAY, reason=" ", now=monday_morning)
    with pytest.raises(BookingError):
        actions.add_closure(location=desk, start_date=WEDNESDAY, end_date=TUESDAY, reason="x", now=monday_morning)
    assert not Closure.objects.exists()


def test_the_page_previews_then_saves_a_closed_day(admin_client, desk, service):
    url = f"/desk/capacity/?location={desk.pk}&start_date=2026-12-02&reason=Staff+outing"
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "28 → 0" in html
    assert "Save the closure" in html
    response = admin_client.post(
        "/desk/capacity/",
        {"location": desk.pk, "start_date": "2026-12-02", "end_date": "2026-12-02", "reason": "Staff outing"},
    )
    assert response.status_code == 302
    assert Closure.objects.get().start_date == WEDNESDAY


def test_the_page_refuses_a_closure_over_bookings_and_lists_them(admin_client, desk, service, monday_morning):
    on_it = book(desk, service, at(WEDNESDAY, 11), now=monday_morning)
    page = admin_client.get(f"/desk/capacity/?location={desk.pk}&start_date=2026-12-02")
    assert on_it.reference in page.content.decode()
    assert "Save the closure" not in page.content.decode()
    response = admin_client.post(
        "/desk/capacity/", {"location": desk.pk, "start_date": "2026-12-02", "reason": "Staff outing"}
    )
    assert response.status_code == 400
    assert "Move or cancel it first" in response.content.decode()
    assert not Closure.objects.exists()


@pytest.mark.parametrize("query", ["start_date=2026-12-03&end_date=2026-12-02", "start_date=soon", "location=x"])
def test_bad_preview_input_is_a_400(admin_client, desk, query):
    assert admin_client.get(f"/desk/capacity/?{query}").status_code == 400


def test_desk_staff_cannot_open_the_capacity_page(client, desk):
    sign_in(client, desk_staff())
    assert client.get("/desk/capacity/").status_code == 403
    assert client.post("/desk/capacity/", {"location": desk.pk, "start_date": "2026-12-02"}).status_code == 403
    assert not Closure.objects.exists()
