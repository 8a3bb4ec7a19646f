"""The desk's day: other open days and one counter on the agenda, one date format, the CSV export's
counters, undoing a check-in, cancelling a walk-in entered twice, and "already added?"."""

import csv
import io
import re
from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import actions
from bookings.actions import BookingError
from bookings.models import Appointment, AppointmentEvent, AppointmentStatus, Closure, EmailKind, EventKind, OutboxEmail
from desk import clock
from tests.support.desk import assign, book, desk_staff, sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import offer

TUESDAY = datetime(2026, 12, 1, tzinfo=AMSTERDAM)


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def staff(db, desk):
    return desk_staff()


@pytest.fixture
def desk_time(monkeypatch):
    def set_time(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_time(at(9, 30))
    return set_time


@pytest.fixture
def staff_client(client, staff, desk_time):
    return sign_in(client, staff)


@pytest.fixture
def counters(desk):
    return list(desk.counters.order_by("name"))


# ---- the agenda: other open days, one counter --------------------------------------------------------


def test_the_agenda_links_the_previous_and_next_open_day(staff_client, desk):
    # Open Tue-Thu; Thursday 3 December is closed for a staff day.
    Closure.objects.create(location=desk, start_date=date(2026, 12, 3), end_date=date(2026, 12, 3), reason="Staff day")
    response = staff_client.get(f"/desk/?location={desk.pk}&day=2026-12-02")
    agenda = response.context["agenda"]
    assert (agenda.previous_open_day, agenda.next_open_day) == (date(2026, 12, 1), date(2026, 12, 8))
    html = response.content.decode()
    assert f'href="/desk/?location={desk.pk}&amp;day=2026-12-01" rel="prev"' in html
    assert "Previous open day (Tue 1 Dec 2026)" in html
    assert f'href="/desk/?location={desk.pk}&amp;day=2026-12-08" rel="next"' in html
    assert "Next open day (Tue 8 Dec 2026)" in html
    # Around Christmas (public holidays on Friday 25 and Saturday 26): Thursday 24 to Tuesday 29.
    agenda = staff_client.get(f"/desk/?location={desk.pk}&day=2026-12-24").context["agenda"]
    assert agenda.next_open_day == date(2026, 12, 29)


def test_the_agenda_shows_one_counter(staff_client, desk, service, counters, monday_morning, staff):
    on_one = book(desk, service, at(10), now=monday_morning, counter=counters[0])
    on_two = book(desk, service, at(10), now=monday_morning, counter=counters[1])
    actions.block_counter(
        counter=counters[1], start=at(14), end=at(15), reason="Training", now=monday_morning, actor=staff
    )
    response = staff_client.get(f"/desk/?location={desk.pk}&day=2026-12-01&counter={counters[1].pk}")
    assert response.status_code == 200
    agenda = response.context["agenda"]
    assert [row.appointment for row in agenda.rows] == [on_two]
    assert [block.counter for block in agenda.blocks] == [counters[1]]
    html = response.content.decode()
    assert on_one.reference not in html
    # The day's links keep the counter.
    assert f"/desk/export.csv?location={desk.pk}&amp;day=2026-12-01&amp;counter={counters[1].pk}" in html
    assert f"/desk/day/?location={desk.pk}&amp;day=2026-12-01&amp;counter={counters[1].pk}" in html
    fragment = staff_client.get(f"/desk/day/?location={desk.pk}&day=2026-12-01&counter={counters[1].pk}")
    assert on_two.reference in fragment.content.decode() and on_one.reference not in fragment.content.decode()


def test_a_counter_of_another_location_is_refused(staff_client, staff, desk, service):
    from tests.support.factories import make_desk

    other = make_desk(services=[service], name="Other desk")
    foreign = other.counters.first()
    # A counter of a location the person does not work at answers as one that does not exist.
    response = staff_client.get(f"/desk/?location={desk.pk}&day=2026-12-01&counter={foreign.pk}")
    assert response.status_code == 404
    assign(staff, other)
    response = staff_client.get(f"/desk/?location={desk.pk}&day=2026-12-01&counter={foreign.pk}")
    assert response.status_code == 400
    assert "Choose a counter of this location." in response.content.decode()
    assert staff_client.get(f"/desk/?location={desk.pk}&day=2026-12-01&counter=abc").status_code == 400


def test_the_agenda_costs_the_same_queries_with_or_without_a_counter(
    staff_client, desk, service, counters, monday_morning
):
    for hour in (9, 10, 11):
        book(desk, service, at(hour), now=monday_morning, counter=counters[hour % 3])

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(url).status_code == 200
        return len(captured)

    base = f"/desk/?location={desk.pk}&day=2026-12-01"
    staff_client.get(base)
    assert queries(base) == queries(base + f"&counter={counters[0].pk}")


# ---- one date format ---------------------------------------------------------------------------------

OTHER_FORMATS = [
    re.compile(r"\b\d{1,2}-\d{1,2}-\d{4}\b"),  # 01-12-2026
    re.compile(r"\b(December|Dec\.)\b"),  # "1 December 2026", "Dec. 1"
    re.compile(r"\bTuesday\b"),
    re.compile(r"\b1 Dec\b(?! 2026)"),  # a date without its year
]


def test_the_desk_pages_write_dates_one_way(staff_client, desk, service, counters, monday_morning, staff):
    anna = book(desk, service, at(10), now=monday_morning, counter=counters[0])
    block = actions.block_counter(
        counter=counters[0], start=at(9, 30), end=at(12), reason="Ill", now=monday_morning, actor=staff
    )
    pages = [
        f"/desk/?location={desk.pk}&day=2026-12-01",
        f"/desk/?location={desk.pk}&day=2026-12-01&q=Jansen",
        f"/desk/print/?location={desk.pk}&day=2026-12-01",
        f"/desk/appointment/{anna.reference}/",
        f"/desk/block/{block.pk}/",
    ]
    for url in pages:
        html = staff_client.get(url).content.decode()
        assert "Tue 1 Dec 2026" in html, url
        for pattern in OTHER_FORMATS:
            assert not pattern.search(html), (url, pattern.pattern, pattern.search(html).group(0))


# ---- the CSV export keeps the counter of finished appointments -------------------------------------


def test_the_csv_export_keeps_the_counter_of_a_walk_in_served_early(staff_client, desk, service, staff, desk_time):
    walk_in = actions.walk_in(
        location=desk,
        service=service,
        names=[actions.PersonName("Li", "Wei")],
        now=at(10, 7),
        actor=staff,
    ).appointment
    assert walk_in.start == at(10, 15)
    actions.finish_service(appointment=walk_in, now=at(10, 12), actor=staff)  # done before its time began
    desk_time(at(10, 20))
    response = staff_client.get(f"/desk/export.csv?location={desk.pk}&day=2026-12-01")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    row = next(row for row in rows if row[4] == walk_in.reference)
    assert (row[3], row[8]) == ("Counter 1", "done")
    agenda = staff_client.get(f"/desk/?location={desk.pk}&day=2026-12-01").context["agenda"]
    assert [r.counters for r in agenda.rows if r.appointment == walk_in] == [["Counter 1"]]


# ---- undo a check-in; cancel a walk-in entered twice -------------------------------------------------


def test_a_check_in_can_be_undone_and_the_history_says_who(
    staff_client, desk, service, staff, monday_morning, desk_time
):
    anna = book(desk, service, at(10), now=monday_morning)
    staff_client.post(f"/desk/appointment/{anna.reference}/check-in/")
    desk_time(at(9, 40))
    page = staff_client.get(f"/desk/appointment/{anna.reference}/").content.decode()
    assert f'action="/desk/appointment/{anna.reference}/undo-check-in/"' in page
    response = staff_client.post(f"/desk/appointment/{anna.reference}/undo-check-in/")
    assert response.status_code == 302
    anna.refresh_from_db()
    assert (anna.status, anna.checked_in_at) == (AppointmentStatus.BOOKED, None)
    event = AppointmentEvent.objects.filter(appointment=anna).latest("pk")
    assert (event.kind, event.actor, event.at) == (EventKind.CHECK_IN_UNDONE, staff, at(9, 40))
    assert "check-in undone" in staff_client.get(f"/desk/appointment/{anna.reference}/").content.decode()
    # Twice, or once the person was called, it is refused and nothing changes.
    assert staff_client.post(f"/desk/appointment/{anna.reference}/undo-check-in/").status_code == 400
    actions.check_in(appointment=anna, now=at(9, 45), actor=staff)
    actions.start_service(appointment=anna, now=at(9, 50), actor=staff)
    with pytest.raises(BookingError):
        actions.undo_check_in(appointment=anna, now=at(9, 55), actor=staff)
    anna.refresh_from_db()
    assert anna.status == AppointmentStatus.CHECKED_IN


def test_the_agenda_offers_undo_for_checked_in_rows(staff_client, desk, service, staff, monday_morning):
    anna = book(desk, service, at(10), now=monday_morning)
    actions.check_in(appointment=anna, now=at(9, 30), actor=staff)
    html = staff_client.get(f"/desk/?location={desk.pk}&day=2026-12-01").content.decode()
    assert f"/desk/appointment/{anna.reference}/undo-check-in/" in html


def test_a_walk_in_entered_twice_is_cancelled_through_the_page(staff_client, desk, service, staff):
    walk_in = actions.walk_in(
        location=desk, service=service, names=[actions.PersonName("Li", "Wei")], now=at(9, 30), actor=staff
    ).appointment
    page = staff_client.get(f"/desk/appointment/{walk_in.reference}/").content.decode()
    assert f'action="/desk/appointment/{walk_in.reference}/cancel/"' in page
    response = staff_client.post(f"/desk/appointment/{walk_in.reference}/cancel/", {"reason": "Entered twice"})
    assert response.status_code == 302
    walk_in.refresh_from_db()
    assert (walk_in.status, walk_in.cancel_reason) == (AppointmentStatus.CANCELLED, "Entered twice")
    assert not OutboxEmail.objects.filter(appointment=walk_in, kind=EmailKind.CANCELLATION).exists()


# ---- the walk-in form ---------------------------------------------------------------------------


def walk_in_data(desk, service, **extra) -> dict:
    return {"location": desk.pk, "service": service.pk, "first_name_1": "Li", "last_name_1": "Wei", **extra}


def test_a_second_walk_in_for_the_same_names_asks_already_added(staff_client, desk, service, desk_time):
    assert staff_client.post("/desk/walk-in/", walk_in_data(desk, service)).status_code == 302
    first = Appointment.objects.get()
    desk_time(at(9, 36))
    response = staff_client.post("/desk/walk-in/", walk_in_data(desk, service, first_name_1=" li ", last_name_1="WEI"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Already added?" in html
    assert f'href="/desk/appointment/{first.reference}/"' in html
    assert 'name="confirm_duplicate" value="True"' in html or 'name="confirm_duplicate" value="on"' in html
    assert Appointment.objects.count() == 1  # nothing booked yet
    # "Yes, book another walk-in": the same form with the confirmation.
    response = staff_client.post("/desk/walk-in/", walk_in_data(desk, service, confirm_duplicate="on"))
    assert response.status_code == 302
    assert Appointment.objects.count() == 2


def test_other_names_or_later_walk_ins_are_not_asked(staff_client, desk, service, desk_time):
    staff_client.post("/desk/walk-in/", walk_in_data(desk, service))
    assert staff_client.post("/desk/walk-in/", walk_in_data(desk, service, first_name_1="Mei")).status_code == 302
    desk_time(at(10, 0))
    assert staff_client.post("/desk/walk-in/", walk_in_data(desk, service)).status_code == 302
    assert Appointment.objects.count() == 3


@pytest.fixture
def registration(db):
    from tests.support.factories import ServiceFactory

    return ServiceFactory(requires_municipality=True)


def test_the_walk_in_municipality_is_the_public_forms_list(staff_client, desk, registration):
    for counter in desk.counters.all():
        counter.services.add(registration)
        offer(counter.location, [registration])
    html = staff_client.get("/desk/walk-in/").content.decode()
    select = html[html.index('name="municipality"') :]
    select = select[: select.index("</select>")]
    assert '<option value="Maastricht">Maastricht</option>' in select
    assert '<option value="Valkenburg aan de Geul">Valkenburg aan de Geul</option>' in select
    assert 'type="text" name="municipality"' not in html
    # Typed with other capitals (an old bookmark, a script): matched to the list's spelling.
    response = staff_client.post("/desk/walk-in/", walk_in_data(desk, registration, municipality="maastricht"))
    assert response.status_code == 302
    assert Appointment.objects.get().municipality == "Maastricht"


def test_a_municipality_off_the_list_is_a_400(staff_client, desk, registration):
    for counter in desk.counters.all():
        counter.services.add(registration)
        offer(counter.location, [registration])
    response = staff_client.post("/desk/walk-in/", walk_in_data(desk, registration, municipality="Amsterdam"))
    assert response.status_code == 400
    assert "Please choose a municipality from the list." in response.content.decode()
    assert not Appointment.objects.exists()


def test_the_walk_in_municipalities_are_each_locations_own(client, desk, registration, desk_time):
    """Issue 12: a desk employee at two locations gets each location's own list, grouped by location; a name
    on one location's list only is booked there and refused at the other."""
    from tests.support.factories import make_desk

    eindhoven = make_desk(services=[registration], name="Eindhoven desk", municipalities="Eindhoven\nVeldhoven")
    for counter in desk.counters.all():
        counter.services.add(registration)
    offer(desk, [registration])
    sign_in(client, desk_staff("two-desks", locations=[desk, eindhoven]))
    html = client.get("/desk/walk-in/").content.decode()
    select = html[html.index('name="municipality"') :]
    select = select[: select.index("</select>")]
    assert '<optgroup label="Eindhoven desk">' in select and '<option value="Veldhoven">Veldhoven</option>' in select
    assert '<option value="Maastricht">Maastricht</option>' in select
    refused = client.post("/desk/walk-in/", walk_in_data(desk, registration, municipality="veldhoven"))
    assert refused.status_code == 400 and not Appointment.objects.exists()
    booked = client.post("/desk/walk-in/", walk_in_data(eindhoven, registration, municipality="veldhoven"))
    assert booked.status_code == 302
    assert Appointment.objects.get().municipality == "Veldhoven"
