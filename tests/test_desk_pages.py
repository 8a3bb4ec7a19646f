"""The desk pages: agenda, search, print, CSV, and the actions through their forms."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import actions
from bookings.models import Appointment, AppointmentEvent, AppointmentStatus, Person, SlotClaim
from desk import clock
from tests.support.configuration import forget_kept_configurations
from tests.support.desk import assign, book, desk_staff, sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import make_desk

TUESDAY = datetime(2026, 12, 1, tzinfo=AMSTERDAM)


def at(hour: int, minute: int = 0) -> datetime:
    return TUESDAY.replace(hour=hour, minute=minute)


@pytest.fixture
def staff(db, desk):
    return desk_staff()


@pytest.fixture
def staff_client(client, staff):
    return sign_in(client, staff)


@pytest.fixture
def desk_time(monkeypatch):
    """Set the desk's clock: `desk_time(at(10))`."""

    def set_time(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_time(at(9, 30))
    return set_time


@pytest.fixture
def day(desk, service, monday_morning):
    """Tuesday at the desk: two bookings and a cancelled one."""
    counters = list(desk.counters.order_by("name"))
    anna = book(desk, service, at(10), now=monday_morning, names=[("Anna", "Jansen")], counter=counters[0])
    li = book(desk, service, at(9), now=monday_morning, names=[("Li", "Wei"), ("Mei", "Wei")], counter=counters[1])
    gone = book(desk, service, at(11), now=monday_morning, names=[("Tom", "Gone")])
    actions.cancel_appointment(appointment=gone, now=monday_morning)
    return {"anna": anna, "li": li, "gone": gone}


def agenda_url(desk, **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"location": desk.pk, "day": "2026-12-01", **extra}.items())
    return f"/desk/?{query}"


def test_agenda_lists_the_day_by_time_with_counters_and_totals(staff_client, desk, day, desk_time):
    response = staff_client.get(agenda_url(desk))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index(day["li"].reference) < html.index(day["anna"].reference)  # by time
    assert "Counter 1" in html and "Counter 2" in html
    assert "Li Wei, Mei Wei" in html
    agenda = response.context["agenda"]
    assert (agenda.totals.booked, agenda.totals.waiting, agenda.totals.cancelled) == (2, 2, 1)
    # From 9:30: 12 morning + 14 afternoon units of 15 minutes on 3 counters, less Anna's 10:00 unit
    # (the Weis' 9:00-9:30 on counter 2 is already past).
    assert agenda.totals.free_minutes == (3 * 26 - 1) * 15
    assert 'src="/static/desk/agenda.js"' in html
    assert "<script>" not in html  # no inline script


def test_agenda_defaults_to_today_at_the_first_location(staff_client, desk, day, desk_time):
    desk_time(at(8))
    response = staff_client.get("/desk/")
    assert response.status_code == 200
    assert response.context["agenda"].day == TUESDAY.date()
    assert response.context["agenda"].location == desk


def test_agenda_fragment_is_the_changing_part_only(staff_client, desk, day, desk_time):
    response = staff_client.get(f"/desk/day/?location={desk.pk}&day=2026-12-01")
    assert response.status_code == 200
    html = response.content.decode()
    assert day["anna"].reference in html
    assert "<html" not in html
    # Actions on its rows return to the agenda page, not to the fragment.
    assert 'value="/desk/?location=' in html


@pytest.mark.parametrize("query", ["day=2026-13-45", "location=abc"])
def test_a_bad_day_or_location_is_a_400_with_a_message(staff_client, desk, query, desk_time):
    response = staff_client.get(f"/desk/?{query}")
    assert response.status_code == 400
    assert response.context["form"].errors


def test_a_location_that_is_not_the_staff_members_is_a_404(staff_client, desk, desk_time):
    assert staff_client.get("/desk/?location=999999").status_code == 404


@pytest.mark.parametrize("query", ["Jansen", "anna", "li wei"])
def test_search_by_name(staff_client, desk, day, desk_time, query):
    response = staff_client.get(agenda_url(desk, q=query))
    results = [row.appointment for row in response.context["results"]]
    expected = day["anna"] if "an" in query.lower() else day["li"]
    assert expected in results
    assert day["gone"] not in results


def test_search_by_reference_as_typed(staff_client, desk, day, desk_time):
    typed = day["anna"].reference.lower().replace("-", " ")
    response = staff_client.get(agenda_url(desk, q=typed))
    assert [row.appointment for row in response.context["results"]] == [day["anna"]]


def fill_day(location, service, count: int) -> None:
    """`count` booked appointments on Tuesday, written directly (a day fuller than a real desk)."""
    units = [at(9) + timedelta(minutes=15 * i) for i in range(14)] + [
        at(13, 30) + timedelta(minutes=15 * i) for i in range(14)
    ]
    counters = list(location.counters.order_by("pk"))
    slots = [(counter, unit) for unit in units for counter in counters][:count]
    assert len(slots) == count
    appointments = Appointment.objects.bulk_create(
        [
            Appointment(
                reference=f"{location.short_code}-{i:04d}-XXXX",
                service=service,
                location=location,
                start=unit,
                end=unit + timedelta(minutes=15),
                persons=1,
                status=AppointmentStatus.BOOKED,
                claimed_units=1,
                created_at=at(8),
            )
            for i, (_counter, unit) in enumerate(slots)
        ]
    )
    Person.objects.bulk_create(
        [Person(appointment=a, position=1, first_name="P", last_name=str(a.pk)) for a in appointments]
    )
    SlotClaim.objects.bulk_create(
        [
            SlotClaim(appointment=a, counter=counter, unit_start=unit, unit_end=unit + timedelta(minutes=15))
            for a, (counter, unit) in zip(appointments, slots, strict=True)
        ]
    )


def test_agenda_costs_the_same_queries_for_0_50_and_500_appointments(client, service, desk_time):
    location = make_desk(services=[service], counters=20)
    staff = desk_staff()
    sign_in(client, staff)
    url = f"/desk/?location={location.pk}&day=2026-12-01"
    counts = []
    for total in (0, 50, 500):
        Appointment.objects.all().delete()
        fill_day(location, service, total)
        forget_kept_configurations()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert len(response.context["agenda"].rows) == total
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2], counts


def test_print_view_is_a_clean_page_with_the_day(staff_client, desk, day, desk_time):
    response = staff_client.get(f"/desk/print/?location={desk.pk}&day=2026-12-01")
    assert response.status_code == 200
    html = response.content.decode()
    assert "desk/print.css" in html
    assert "bootstrap" not in html
    assert day["anna"].reference in html and "Anna Jansen" in html
    assert "<nav" not in html and "<form" not in html


def test_csv_export_of_the_day(staff_client, desk, day, desk_time, monday_morning, service):
    book(desk, service, at(14), now=monday_morning, names=[("=HYPERLINK(1)", "Evil")])
    response = staff_client.get(f"/desk/export.csv?location={desk.pk}&day=2026-12-01")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    # For Dutch Excel: a byte-order mark, ";" between fields, and the date in a column of its own.
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["date", "start", "end", "counter", "reference"]
    by_reference = {row[4]: row for row in rows[1:]}
    assert by_reference[day["li"].reference][:4] == ["2026-12-01", "09:00", "09:30", "Counter 2"]
    assert by_reference[day["li"].reference][7] == "Li Wei, Mei Wei"
    assert by_reference[day["gone"].reference][8] == "cancelled"
    assert any(row[7] == "'=HYPERLINK(1) Evil" for row in rows[1:])  # no formula in a spreadsheet


def test_csv_export_with_a_bad_date_is_a_400(staff_client, desk, desk_time):
    assert staff_client.get("/desk/export.csv?day=yesterday").status_code == 400


# ---- actions through the pages ------------------------------------------------------------


def test_check_in_by_typed_reference(staff_client, staff, desk, day, desk_time):
    typed = day["anna"].reference.lower().replace("-", "")
    response = staff_client.post("/desk/check-in/", {"reference": typed, "next": agenda_url(desk)})
    assert response.status_code == 302
    assert response.url == agenda_url(desk)
    day["anna"].refresh_from_db()
    assert day["anna"].status == AppointmentStatus.CHECKED_IN
    assert AppointmentEvent.objects.filter(appointment=day["anna"]).latest("pk").actor == staff


def test_check_in_of_an_unknown_reference_is_a_404_with_a_message(staff_client, desk_time):
    response = staff_client.post("/desk/check-in/", {"reference": "MAA-XXXX-YYYY"})
    assert response.status_code == 404
    assert b"No booking with that reference" in response.content


def test_check_in_of_a_cancelled_booking_shows_why_and_changes_nothing(staff_client, day, desk_time):
    response = staff_client.post("/desk/check-in/", {"reference": day["gone"].reference})
    assert response.status_code == 400
    assert b"This booking was cancelled." in response.content
    assert b"Nothing was changed." in response.content
    day["gone"].refresh_from_db()
    assert day["gone"].status == AppointmentStatus.CANCELLED


def test_no_show_before_the_start_is_refused_on_the_page(staff_client, day, desk_time):
    desk_time(at(9, 55))
    response = staff_client.post(f"/desk/appointment/{day['anna'].reference}/no-show/")
    assert response.status_code == 400
    assert b"only be marked after the start time (10:00)" in response.content
    day["anna"].refresh_from_db()
    assert day["anna"].status == AppointmentStatus.BOOKED


def test_no_show_start_finish_through_the_page(staff_client, day, desk_time):
    desk_time(at(10, 5))
    assert staff_client.post(f"/desk/appointment/{day['anna'].reference}/no-show/").status_code == 302
    assert staff_client.post(f"/desk/appointment/{day['li'].reference}/check-in/").status_code == 302
    assert staff_client.post(f"/desk/appointment/{day['li'].reference}/start/").status_code == 302
    assert staff_client.post(f"/desk/appointment/{day['li'].reference}/finish/").status_code == 302
    statuses = dict(Appointment.objects.values_list("reference", "status"))
    assert statuses[day["anna"].reference] == AppointmentStatus.NO_SHOW
    assert statuses[day["li"].reference] == AppointmentStatus.DONE


def test_actions_are_post_only(staff_client, day, desk_time):
    assert staff_client.get(f"/desk/appointment/{day['anna'].reference}/check-in/").status_code == 405


def test_appointment_page_shows_the_audit_trail_with_who(staff_client, staff, day, desk_time):
    staff_client.post(f"/desk/appointment/{day['anna'].reference}/check-in/")
    response = staff_client.get(f"/desk/appointment/{day['anna'].reference}/")
    assert response.status_code == 200
    events = response.context["events"]
    assert [e.kind for e in events] == ["booked", "checked_in"]
    assert events[-1].actor == staff
    assert staff.username in response.content.decode()


def test_cancel_needs_a_reason_on_the_page(staff_client, day, desk_time):
    url = f"/desk/appointment/{day['anna'].reference}/cancel/"
    assert staff_client.post(url, {"reason": ""}).status_code == 400
    day["anna"].refresh_from_db()
    assert day["anna"].status == AppointmentStatus.BOOKED
    assert staff_client.post(url, {"reason": "Called in sick"}).status_code == 302
    day["anna"].refresh_from_db()
    assert (day["anna"].status, day["anna"].cancel_reason) == (AppointmentStatus.CANCELLED, "Called in sick")


def test_moving_onto_a_taken_slot_is_a_409_and_changes_nothing(staff_client, desk, day, desk_time):
    desk_time(at(8))
    counter_2 = desk.counters.get(name="Counter 2")
    response = staff_client.post(
        f"/desk/appointment/{day['anna'].reference}/move/",
        {"day": "2026-12-01", "time": "09:00", "counter": counter_2.pk},
    )
    assert response.status_code == 409
    # Not a race, so not "just been taken": the page says whose the counter is and which are free.
    assert b"Counter 2 has another booking at that time. Free then: Counter 1, Counter 3." in response.content
    assert b"just been taken" not in response.content
    day["anna"].refresh_from_db()
    assert day["anna"].start == at(10)


def test_move_through_the_page(staff_client, desk, day, desk_time):
    response = staff_client.post(
        f"/desk/appointment/{day['anna'].reference}/move/", {"day": "2026-12-01", "time": "14:00", "counter": ""}
    )
    assert response.status_code == 302
    day["anna"].refresh_from_db()
    assert day["anna"].start == at(14)


def test_walk_in_through_the_page(staff_client, staff, desk, service, desk_time):
    desk_time(at(10, 7))
    response = staff_client.post(
        "/desk/walk-in/",
        {"location": desk.pk, "service": service.pk, "first_name_1": "Li", "last_name_1": "Wei"},
    )
    assert response.status_code == 302
    walk_in = Appointment.objects.get()
    assert (walk_in.start, walk_in.status, walk_in.booked_by) == (at(10, 15), AppointmentStatus.CHECKED_IN, staff)


def test_walk_in_with_no_capacity_says_so(staff_client, desk, service, desk_time):
    desk_time(at(17, 5))
    response = staff_client.post(
        "/desk/walk-in/",
        {"location": desk.pk, "service": service.pk, "first_name_1": "Li", "last_name_1": "Wei"},
    )
    assert response.status_code == 400
    assert b"no free counter time left today" in response.content
    assert not Appointment.objects.exists()


def test_walk_in_with_half_a_name_is_refused(staff_client, desk, service, desk_time):
    response = staff_client.post(
        "/desk/walk-in/",
        {"location": desk.pk, "service": service.pk, "first_name_1": "Li", "last_name_1": "Wei", "first_name_2": "X"},
    )
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_block_a_counter_shows_the_affected_appointments_with_move_and_cancel(staff_client, desk, day, desk_time):
    counter_1 = desk.counters.get(name="Counter 1")
    response = staff_client.post(
        "/desk/block/",
        {"counter": counter_1.pk, "day": "2026-12-01", "start_time": "09:30", "end_time": "12:30", "reason": "Ill"},
    )
    assert response.status_code == 302
    page = staff_client.get(response.url)
    html = page.content.decode()
    assert [item["row"].appointment for item in page.context["affected"]] == [day["anna"]]
    assert f"/desk/appointment/{day['anna'].reference}/move/" in html
    assert f"/desk/appointment/{day['anna'].reference}/cancel/" in html
    # On the agenda the block is listed.
    assert "Blocked counters" in staff_client.get(agenda_url(desk)).content.decode()


def test_a_block_that_ends_before_it_starts_is_refused(staff_client, desk, desk_time):
    counter_1 = desk.counters.get(name="Counter 1")
    response = staff_client.post(
        "/desk/block/",
        {"counter": counter_1.pk, "day": "2026-12-01", "start_time": "12:00", "end_time": "10:00", "reason": "Ill"},
    )
    assert response.status_code == 400
    assert b"must end after it starts" in response.content


def test_times_are_shown_in_the_locations_time_zone(staff_client, staff, service, monday_morning, desk_time):
    from zoneinfo import ZoneInfo

    london = make_desk(services=[service], time_zone="Europe/London")
    assign(staff, london)
    ten_in_london = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    appointment = book(london, service, ten_in_london, now=monday_morning)
    html = staff_client.get(f"/desk/?location={london.pk}&day=2026-12-01").content.decode()
    assert "10:00–10:15" in html
    assert "10:00" in staff_client.get(f"/desk/appointment/{appointment.reference}/").content.decode()


def test_print_the_afternoon(staff_client, desk, day, desk_time, monday_morning, service):
    afternoon = book(desk, service, at(14), now=monday_morning, names=[("Noor", "Bakker")])
    response = staff_client.get(f"/desk/print/?location={desk.pk}&day=2026-12-01&after=12:00")
    html = response.content.decode()
    assert afternoon.reference in html
    assert day["anna"].reference not in html and day["li"].reference not in html
    assert "from 12:00" in html
    assert staff_client.get(f"/desk/print/?location={desk.pk}&day=2026-12-01&after=noon").status_code == 400
