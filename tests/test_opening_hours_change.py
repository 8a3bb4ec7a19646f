"""Opening-hours changes: refused while live appointments would fall outside (action, desk page, admin),
previewed over six weeks before saving, and bad input answered with a 4xx and nothing changed."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from bookings import actions
from bookings.actions import AppointmentsOutsideHours, BookingError
from bookings.models import Location, OpeningHours
from bookings.opening_hours import HoursChange, appointments_outside, plan_change
from desk import clock
from desk.selectors import capacity_preview
from tests.support.admin import admin_url, location_post_data, management_forms_for_existing
from tests.support.configuration import forget_kept_configurations
from tests.support.desk import desk_admin, desk_staff, sign_in
from tests.support.env import AMSTERDAM, weekday_ahead

pytestmark = pytest.mark.django_db

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


def rows(location) -> list[tuple]:
    return sorted(
        OpeningHours.objects.filter(location=location).values_list(
            "weekday", "start_time", "end_time", "valid_from", "valid_until"
        ),
        key=repr,
    )


def book(location, service, start: datetime, *, now: datetime):
    """A booking by someone else each time (one e-mail address books a service once)."""
    return actions.book_appointment(
        location=location,
        service=service,
        start=start,
        names=[actions.PersonName(first_name="Anna", last_name="Jansen")],
        contact_email=f"anna.{start:%Y%m%d%H%M}@example.org",
        now=now,
    ).appointment


@pytest.fixture(autouse=True)
def desk_time(monkeypatch, monday_morning):
    monkeypatch.setattr(clock, "now", lambda: monday_morning)


# ---- the plan: which rows a change replaces ---------------------------------------------------


def test_a_change_for_a_period_cuts_the_rows_it_overlaps_and_keeps_the_rest(desk):
    change = HoursChange(
        weekday=1, intervals=((time(10, 0), time(14, 0)),), valid_from=date(2026, 12, 8), valid_until=date(2026, 12, 22)
    )
    plan = plan_change(location=desk, current=list(desk.opening_hours.all()), change=change)
    tuesday = {
        (row.start_time, row.end_time, row.valid_from, row.valid_until) for row in plan.result if row.weekday == 1
    }
    assert tuesday == {
        (time(9, 0), time(12, 30), None, date(2026, 12, 7)),
        (time(9, 0), time(12, 30), date(2026, 12, 23), None),
        (time(10, 0), time(14, 0), date(2026, 12, 8), date(2026, 12, 22)),
        (time(13, 30), time(17, 0), None, date(2026, 12, 7)),
        (time(13, 30), time(17, 0), date(2026, 12, 23), None),
    }
    assert len([row for row in plan.result if row.weekday == 2]) == 2  # other weekdays untouched
    assert len(plan.delete) == 2


def test_a_change_without_dates_replaces_the_weekday(desk):
    change = HoursChange(weekday=3, intervals=())
    plan = plan_change(location=desk, current=list(desk.opening_hours.all()), change=change)
    assert not [row for row in plan.result if row.weekday == 3]
    assert plan.create == []


# ---- the action ---------------------------------------------------------------------------------


def test_shorter_hours_that_keep_every_appointment_inside_are_saved(desk, service, monday_morning):
    book(desk, service, at(TUESDAY, 10), now=monday_morning)
    actions.change_opening_hours(
        location=desk,
        change=HoursChange(weekday=1, intervals=((time(9, 0), time(11, 0)),), valid_from=TUESDAY, valid_until=TUESDAY),
        now=monday_morning,
    )
    tuesday_rows = [row for row in rows(desk) if row[0] == 1]
    assert (1, time(9, 0), time(11, 0), TUESDAY, TUESDAY) in tuesday_rows
    assert (1, time(9, 0), time(12, 30), date(2026, 12, 2), None) in tuesday_rows  # later Tuesdays as before
    preview = capacity_preview(location=desk, now=monday_morning)
    by_day = {row.day: row.cells[0] for row in preview.days}
    # Starts 09:00–10:45 that Tuesday (eight), the full day on the next.
    assert by_day[TUESDAY].free == 8
    assert by_day[date(2026, 12, 8)].free == 28


def test_a_change_that_leaves_an_appointment_outside_is_refused_and_lists_it(desk, service, monday_morning):
    outside = book(desk, service, at(TUESDAY, 14), now=monday_morning)
    book(desk, service, at(TUESDAY, 10), now=monday_morning)
    before = rows(desk)
    with pytest.raises(AppointmentsOutsideHours) as refused:
        actions.change_opening_hours(
            location=desk,
            change=HoursChange(weekday=1, intervals=((time(9, 0), time(12, 30)),)),
            now=monday_morning,
        )
    assert refused.value.code == actions.APPOINTMENTS_OUTSIDE_HOURS
    assert refused.value.appointments == [outside]
    assert "1 appointment would fall outside" in str(refused.value.message)
    assert rows(desk) == before


def test_an_appointment_running_past_the_new_closing_time_is_outside(desk, service, monday_morning):
    book(desk, service, at(TUESDAY, 12, 15), now=monday_morning)  # 12:15–12:30
    with pytest.raises(AppointmentsOutsideHours):
        actions.change_opening_hours(
            location=desk,
            change=HoursChange(weekday=1, intervals=((time(9, 0), time(12, 20)), (time(13, 30), time(17, 0)))),
            now=monday_morning,
        )


def test_cancelled_appointments_and_lapsed_holds_do_not_block_a_change(desk, service, monday_morning):
    cancelled = book(desk, service, at(TUESDAY, 14), now=monday_morning)
    actions.cancel_appointment(appointment=cancelled, now=monday_morning)
    actions.hold_slot(location=desk, service=service, start=at(TUESDAY, 15), persons=1, now=monday_morning)
    later = monday_morning + timedelta(hours=1)  # the hold has lapsed
    actions.change_opening_hours(
        location=desk, change=HoursChange(weekday=1, intervals=((time(9, 0), time(12, 30)),)), now=later
    )
    assert [row for row in rows(desk) if row[0] == 1] == [(1, time(9, 0), time(12, 30), None, None)]


def test_a_live_hold_blocks_a_change(desk, service, monday_morning):
    actions.hold_slot(location=desk, service=service, start=at(TUESDAY, 15), persons=1, now=monday_morning)
    with pytest.raises(AppointmentsOutsideHours):
        actions.change_opening_hours(
            location=desk, change=HoursChange(weekday=1, intervals=((time(9, 0), time(12, 30)),)), now=monday_morning
        )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (HoursChange(weekday=7, intervals=()), actions.INVALID_HOURS),
        (HoursChange(weekday=1, intervals=((time(12, 0), time(9, 0)),)), actions.INVALID_HOURS),
        (HoursChange(weekday=1, intervals=((time(9, 0), time(9, 0)),)), actions.INVALID_HOURS),
        (
            HoursChange(weekday=1, intervals=((time(9, 0), time(12, 0)), (time(11, 0), time(13, 0)))),
            actions.INVALID_HOURS,
        ),
        (
            HoursChange(weekday=1, intervals=tuple((time(h, 0), time(h, 30)) for h in range(8, 13))),
            actions.INVALID_HOURS,
        ),
        (
            HoursChange(weekday=1, intervals=(), valid_from=date(2026, 12, 9), valid_until=date(2026, 12, 8)),
            actions.INVALID_PERIOD,
        ),
        (
            HoursChange(weekday=1, intervals=(), valid_from=date(2026, 11, 1), valid_until=date(2026, 11, 29)),
            actions.INVALID_PERIOD,
        ),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(desk, monday_morning, change, code):
    before = rows(desk)
    with pytest.raises(BookingError) as refused:
        actions.change_opening_hours(location=desk, change=change, now=monday_morning)
    assert refused.value.code == code
    assert rows(desk) == before


def test_an_appointment_already_outside_before_does_not_block_another_change(desk, service, monday_morning):
    appointment = book(desk, service, at(TUESDAY, 14), now=monday_morning)
    OpeningHours.objects.filter(location=desk, weekday=1, start_time=time(13, 30)).delete()  # outside by hand
    current = list(desk.opening_hours.all())
    plan = plan_change(location=desk, current=current, change=HoursChange(weekday=2, intervals=()))
    assert appointments_outside(location=desk, current=current, proposed=plan.result, now=monday_morning) == []
    assert appointment.pk  # still there; the agenda shows it


# ---- the preview ------------------------------------------------------------------------------


def test_the_preview_shows_before_and_after_and_the_appointments_left_outside(desk, service, monday_morning):
    outside = book(desk, service, at(WEDNESDAY, 14), now=monday_morning)
    change = HoursChange(weekday=2, intervals=(), valid_from=WEDNESDAY, valid_until=WEDNESDAY)
    preview = capacity_preview(location=desk, now=monday_morning, hours_change=change)
    by_day = {row.day: row for row in preview.days}
    assert (by_day[WEDNESDAY].cells[0].free, by_day[WEDNESDAY].cells[0].free_after) == (28, 0)
    assert by_day[WEDNESDAY].closed_after and by_day[WEDNESDAY].changes
    assert not by_day[date(2026, 12, 9)].changes  # the next Wednesday keeps its hours
    assert [row.appointment for row in preview.affected] == [outside]
    assert OpeningHours.objects.filter(location=desk).count() == 6  # a preview saves nothing


def test_the_preview_costs_the_same_queries_however_many_appointments(
    desk, service, monday_morning, django_assert_num_queries
):
    change = HoursChange(weekday=1, intervals=((time(9, 0), time(10, 0)),))
    # Each count as in a new process: the configuration's version (read with the claims) and three queries.
    forget_kept_configurations()
    with django_assert_num_queries(8):  # nobody left outside: no names or counters to read
        capacity_preview(location=desk, now=monday_morning, hours_change=change)
    book(desk, service, at(TUESDAY, 16, 30), now=monday_morning)
    forget_kept_configurations()
    with django_assert_num_queries(10):
        assert len(capacity_preview(location=desk, now=monday_morning, hours_change=change).affected) == 1
    for hour in (10, 11, 14, 15):
        book(desk, service, at(TUESDAY, hour), now=monday_morning)
        book(desk, service, at(WEDNESDAY, hour), now=monday_morning)
    forget_kept_configurations()
    with django_assert_num_queries(10):
        preview = capacity_preview(location=desk, now=monday_morning, hours_change=change)
    assert len(preview.affected) == 5


# ---- the desk page ----------------------------------------------------------------------------

URL = "/desk/capacity/hours/"


def proposal(desk, **extra) -> dict[str, str]:
    return {"location": str(desk.pk), "weekday": "1", "opens_1": "09:00", "closes_1": "12:30", **extra}


def test_only_admins_reach_the_page(client, desk):
    assert client.get(URL).status_code == 302
    sign_in(client, desk_staff())
    assert client.get(URL).status_code == 403
    assert client.post(URL, proposal(desk)).status_code == 403
    assert OpeningHours.objects.filter(location=desk).count() == 6


def test_an_admin_previews_then_saves_new_hours(client, desk, service, monday_morning):
    sign_in(client, desk_admin())
    page = client.get(URL, {"location": desk.pk})
    assert page.status_code == 200
    assert "Tuesday 09:00–12:30" in page.content.decode()

    preview = client.get(URL, proposal(desk, valid_from="2026-12-08"))
    assert preview.status_code == 200
    content = preview.content.decode()
    assert "No appointment would fall outside the new opening hours." in content
    assert "28 → 14" in content  # the Tuesday of 8 December loses its afternoon
    assert OpeningHours.objects.filter(location=desk).count() == 6

    saved = client.post(URL, proposal(desk, valid_from="2026-12-08"))
    assert saved.status_code == 302
    assert (1, time(13, 30), time(17, 0), None, date(2026, 12, 7)) in rows(desk)
    assert (1, time(9, 0), time(12, 30), date(2026, 12, 8), None) in rows(desk)


def test_saving_is_refused_while_appointments_fall_outside(client, desk, service, monday_morning):
    appointment = book(desk, service, at(TUESDAY, 14), now=monday_morning)
    sign_in(client, desk_admin())
    before = rows(desk)
    preview = client.get(URL, proposal(desk))
    assert appointment.reference in preview.content.decode()
    assert "Save the new opening hours" not in preview.content.decode()

    refused = client.post(URL, proposal(desk))
    assert refused.status_code == 400
    content = refused.content.decode()
    assert "would fall outside the new opening hours" in content
    assert appointment.reference in content
    assert rows(desk) == before


@pytest.mark.parametrize(
    "bad",
    [
        {"weekday": "9"},
        {"weekday": "x"},
        {"location": "abc"},
        {"opens_1": "25:00"},
        {"closes_1": "08:00"},
        {"closes_1": ""},
        {"opens_2": "12:00", "closes_2": "14:00"},
        {"valid_from": "2026-12-09", "valid_until": "2026-12-08"},
        {"valid_from": "not a date"},
        {"valid_from": "2026-11-01", "valid_until": "2026-11-02"},
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(client, desk, bad):
    sign_in(client, desk_admin())
    before = rows(desk)
    assert client.get(URL, proposal(desk, **bad)).status_code in (200, 400)
    response = client.post(URL, proposal(desk, **bad))
    assert response.status_code == 400
    assert rows(desk) == before


def test_a_location_not_of_the_admin_is_a_404_and_changes_nothing(client, desk):
    sign_in(client, desk_admin())
    before = rows(desk)
    assert client.get(URL, proposal(desk, location="999999")).status_code == 404
    assert client.post(URL, proposal(desk, location="999999")).status_code == 404
    assert rows(desk) == before


def test_a_post_without_a_weekday_is_a_400(client, desk):
    sign_in(client, desk_admin())
    assert client.post(URL, {"location": str(desk.pk)}).status_code == 400
    assert client.get(URL, {"location": "abc"}).status_code == 400


# ---- the admin's location page ------------------------------------------------------------------


def next_tuesday_in_a_week() -> date:
    """The admin checks against the real clock: a Tuesday at least a week ahead of today."""
    return weekday_ahead(1, days=7)


@pytest.fixture
def admin_client(client, db):
    return sign_in(client, desk_admin())


@pytest.fixture
def afternoon_booking(desk, service):
    day = next_tuesday_in_a_week()
    return book(desk, service, at(day, 14), now=timezone.now())


def admin_post(desk, **changes) -> dict:
    data = location_post_data(desk) | management_forms_for_existing(desk)
    return data | changes


def tuesday_afternoon_index(desk) -> int:
    hours = list(desk.opening_hours.order_by("pk"))
    return next(i for i, row in enumerate(hours) if row.weekday == 1 and row.start_time == time(13, 30))


def test_admin_refuses_to_delete_hours_with_an_appointment_in_them(admin_client, desk, afternoon_booking):
    index = tuesday_afternoon_index(desk)
    before = rows(desk)
    response = admin_client.post(
        admin_url(Location, "change", desk.pk), admin_post(desk, **{f"opening_hours-{index}-DELETE": "on"})
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "1 appointment would fall outside the opening hours or off the time grid" in content
    assert afternoon_booking.reference in content
    assert rows(desk) == before


def test_admin_refuses_to_shorten_hours_under_an_appointment(admin_client, desk, afternoon_booking):
    index = tuesday_afternoon_index(desk)
    before = rows(desk)
    response = admin_client.post(
        admin_url(Location, "change", desk.pk), admin_post(desk, **{f"opening_hours-{index}-start_time": "14:30"})
    )
    assert response.status_code == 200
    assert afternoon_booking.reference in response.content.decode()
    assert rows(desk) == before


def test_admin_refuses_a_grid_that_leaves_an_appointment_off_it(admin_client, desk, service):
    appointment = book(desk, service, at(next_tuesday_in_a_week(), 9, 15), now=timezone.now())
    response = admin_client.post(admin_url(Location, "change", desk.pk), admin_post(desk, grid_minutes="20"))
    assert response.status_code == 200
    assert appointment.reference in response.content.decode()
    desk.refresh_from_db()
    assert desk.grid_minutes == 15


def test_admin_saves_a_change_that_leaves_every_appointment_inside(admin_client, desk, afternoon_booking):
    thursday = next(
        i for i, row in enumerate(desk.opening_hours.order_by("pk")) if row.weekday == 3 and row.start_time == time(9)
    )
    response = admin_client.post(
        admin_url(Location, "change", desk.pk), admin_post(desk, **{f"opening_hours-{thursday}-DELETE": "on"})
    )
    assert response.status_code == 302
    assert not OpeningHours.objects.filter(location=desk, weekday=3, start_time=time(9)).exists()


@pytest.mark.parametrize(
    ("change", "value"), [("is_active", ""), ("time_zone", "Europe/London")], ids=["inactive", "time zone"]
)
def test_admin_refuses_to_deactivate_or_move_the_clock_of_a_location_under_an_appointment(
    admin_client, desk, afternoon_booking, change, value
):
    data = admin_post(desk, **{change: value})
    if not value:
        data.pop(change)  # an unticked checkbox is not posted
    response = admin_client.post(admin_url(Location, "change", desk.pk), data)
    assert response.status_code == 200
    assert afternoon_booking.reference in response.content.decode()
    desk.refresh_from_db()
    assert desk.is_active and desk.time_zone == "Europe/Amsterdam"


def test_admin_may_edit_an_inactive_location_with_appointments_left_on_it(admin_client, desk, afternoon_booking):
    Location.objects.filter(pk=desk.pk).update(is_active=False)
    data = admin_post(desk, name="Renamed desk")
    data.pop("is_active")
    response = admin_client.post(admin_url(Location, "change", desk.pk), data)
    assert response.status_code == 302
    desk.refresh_from_db()
    assert desk.name == "Renamed desk"
