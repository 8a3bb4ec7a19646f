"""The desk sees a visit of several parts (issue 13, point 4): one group on the agenda with its parts (service,
persons, counters, time), one check-in, each part started, finished or marked as a no-show, the visit done
with its last part; moving the visit whole; print and CSV list the parts."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import actions
from bookings.actions import BookingError, visit_desk
from bookings.actions.visits import book_visit
from bookings.models import (
    AppointmentEvent,
    AppointmentPart,
    AppointmentStatus,
    EmailKind,
    EventKind,
    OutboxEmail,
    SlotClaim,
)
from desk import clock
from tests.support.desk import desk_staff, sign_in
from tests.support.env import AMSTERDAM
from tests.support.visits import family_desk, family_names

TUESDAY = date(2026, 12, 1)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def visit_desk_(db):
    return family_desk()


@pytest.fixture
def staff(visit_desk_):
    return desk_staff()


@pytest.fixture
def desk_time(monkeypatch):
    def set_time(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_time(at(8, 50))
    return set_time


@pytest.fixture
def staff_client(client, staff, desk_time):
    return sign_in(client, staff)


def book_family(desk, start, now):
    return book_visit(
        location=desk.location,
        parts=desk.family(),
        start=start,
        names=family_names(),
        contact_email="jansen@example.org",
        now=now,
    ).appointment


@pytest.fixture
def visit(visit_desk_, monday_morning):
    return book_family(visit_desk_, at(9), monday_morning)


def checked_in(visit, staff, moment=None):
    actions.check_in(appointment=visit, now=moment or at(8, 55), actor=staff)
    visit.refresh_from_db()
    return visit


# ---- the actions on the parts -----------------------------------------------------------------------


def test_parts_are_started_and_finished_one_by_one_and_the_visit_follows(visit, staff):
    checked_in(visit, staff)
    claims = SlotClaim.objects.filter(appointment=visit).count()
    visit_desk.start_part(appointment=visit, position=1, now=at(9), actor=staff)
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CHECKED_IN and visit.started_at == at(9)  # in progress
    part = AppointmentPart.objects.get(appointment=visit, position=1)
    assert part.started_at == at(9) and part.done_at is None
    visit_desk.finish_part(appointment=visit, position=1, now=at(9, 20), actor=staff)
    visit.refresh_from_db()
    # One part done moves no counter time: the visit keeps every claim until it is over.
    assert visit.status == AppointmentStatus.CHECKED_IN
    assert SlotClaim.objects.filter(appointment=visit).count() == claims
    assert not OutboxEmail.objects.filter(appointment=visit, kind=EmailKind.FEEDBACK).exists()
    visit_desk.start_part(appointment=visit, position=2, now=at(9, 25), actor=staff)
    visit_desk.finish_part(appointment=visit, position=2, now=at(9, 35), actor=staff)
    visit.refresh_from_db()
    # The last part done: the visit is done, its time from now on freed, the feedback e-mail queued.
    assert visit.status == AppointmentStatus.DONE and visit.done_at == at(9, 35)
    assert not SlotClaim.objects.filter(appointment=visit, unit_start__gte=at(9, 35)).exists()
    assert OutboxEmail.objects.filter(appointment=visit, kind=EmailKind.FEEDBACK).exists()
    events = list(
        AppointmentEvent.objects.filter(appointment=visit, kind__startswith="part").values_list("kind", "detail")
    )
    code1, code2 = (p.service.code for p in visit.parts.order_by("position"))
    assert events == [
        (EventKind.PART_STARTED, f"1 · {code1}"),
        (EventKind.PART_DONE, f"1 · {code1}"),
        (EventKind.PART_STARTED, f"2 · {code2}"),
        (EventKind.PART_DONE, f"2 · {code2}"),
    ]
    # No personal data in the audit trail.
    assert not AppointmentEvent.objects.filter(appointment=visit, detail__icontains="Jansen").exists()


def test_a_visit_with_a_part_done_and_the_rest_no_shows_is_done(visit, staff):
    checked_in(visit, staff)
    visit_desk.finish_part(appointment=visit, position=1, now=at(9, 20), actor=staff)
    visit_desk.no_show_part(appointment=visit, position=2, now=at(9, 40), actor=staff)
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.DONE
    assert AppointmentPart.objects.get(appointment=visit, position=2).no_show_at == at(9, 40)


def test_a_visit_whose_every_part_is_a_no_show_is_a_no_show(visit, staff):
    checked_in(visit, staff)
    visit_desk.no_show_part(appointment=visit, position=1, now=at(9, 10), actor=staff)
    visit_desk.no_show_part(appointment=visit, position=2, now=at(9, 40), actor=staff)
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.NO_SHOW
    assert not SlotClaim.objects.filter(appointment=visit, unit_start__gte=at(9, 40)).exists()


def test_the_steps_on_a_part_are_refused_when_they_make_no_sense(visit, staff):
    with pytest.raises(BookingError) as error:
        visit_desk.start_part(appointment=visit, position=1, now=at(9), actor=staff)  # not checked in
    assert error.value.code == BookingError.INVALID_STATUS
    checked_in(visit, staff)
    with pytest.raises(BookingError) as error:
        visit_desk.start_part(appointment=visit, position=3, now=at(9), actor=staff)
    assert error.value.code == visit_desk.NO_SUCH_PART
    visit_desk.start_part(appointment=visit, position=1, now=at(9), actor=staff)
    for step in (visit_desk.start_part, visit_desk.no_show_part):
        with pytest.raises(BookingError):
            step(appointment=visit, position=1, now=at(9, 5), actor=staff)
    visit_desk.finish_part(appointment=visit, position=1, now=at(9, 15), actor=staff)
    with pytest.raises(BookingError):
        visit_desk.finish_part(appointment=visit, position=1, now=at(9, 16), actor=staff)
    # The check-in cannot be undone once a part started.
    with pytest.raises(BookingError):
        actions.undo_check_in(appointment=visit, now=at(9, 16), actor=staff)


# ---- the agenda, the appointment page, print and CSV -----------------------------------------------------


def test_the_agenda_shows_a_visit_as_one_group_with_its_parts(staff_client, visit_desk_, visit):
    response = staff_client.get(f"/desk/?location={visit_desk_.location.pk}&day=2026-12-01")
    assert response.status_code == 200
    rows = response.context["agenda"].rows
    assert [row.appointment for row in rows] == [visit]
    parts = rows[0].parts
    assert [(p.part.position, p.part.service, p.names) for p in parts] == [
        (1, visit_desk_.registration, ["Adult 1 Jansen", "Adult 2 Jansen", "Child 3 Jansen", "Child 4 Jansen"]),
        (2, visit_desk_.biometrics, ["Adult 1 Jansen", "Adult 2 Jansen"]),
    ]
    assert parts[1].counters == ["Counter 1"]  # biometrics only where it is served
    assert set(parts[0].counters) <= {"Counter 1", "Counter 2", "Counter 3"} and parts[0].counters
    html = response.content.decode()
    assert html.count(f'href="/desk/appointment/{visit.reference}/"') == 1  # one group
    assert visit_desk_.biometrics.name in html and "09:15–09:45" in html


def test_the_agenda_costs_the_same_queries_for_one_or_three_visits(staff_client, visit_desk_, visit, monday_morning):
    url = f"/desk/?location={visit_desk_.location.pk}&day=2026-12-01"
    staff_client.get(url)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(url).status_code == 200
        return len(captured)

    one = queries()
    book_family(visit_desk_, at(10), monday_morning)
    book_family(visit_desk_, at(11), monday_morning)
    assert queries() == one


def test_the_desk_checks_in_once_and_works_through_the_parts(staff_client, visit_desk_, visit, desk_time):
    page = f"/desk/?location={visit_desk_.location.pk}&day=2026-12-01"
    response = staff_client.post(f"/desk/appointment/{visit.reference}/check-in/", {"next": page})
    assert response.status_code == 302
    html = staff_client.get(page).content.decode()
    # The visit's own Start and Done are the parts' now.
    assert f"/desk/appointment/{visit.reference}/finish/" not in html
    assert f"/desk/appointment/{visit.reference}/part/1/start/" in html
    assert f"/desk/appointment/{visit.reference}/part/2/no-show/" in html
    desk_time(at(9))
    assert staff_client.post(f"/desk/appointment/{visit.reference}/part/9/start/").status_code == 404  # no such part
    assert staff_client.post(f"/desk/appointment/{visit.reference}/part/1/start/", {"next": page}).status_code == 302
    assert "in progress" in staff_client.get(page).content.decode()
    desk_time(at(9, 20))
    assert staff_client.post(f"/desk/appointment/{visit.reference}/part/1/finish/").status_code == 302
    desk_time(at(9, 40))
    assert staff_client.post(f"/desk/appointment/{visit.reference}/part/2/finish/").status_code == 302
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.DONE
    # A part done twice: refused with the reason, nothing changed.
    response = staff_client.post(f"/desk/appointment/{visit.reference}/part/2/finish/")
    assert response.status_code == 400
    detail = staff_client.get(f"/desk/appointment/{visit.reference}/").content.decode()
    assert "part done" in detail and visit_desk_.biometrics.name in detail


def test_print_and_csv_list_the_parts(staff_client, visit_desk_, visit):
    query = f"location={visit_desk_.location.pk}&day=2026-12-01"
    html = staff_client.get(f"/desk/print/?{query}").content.decode()
    assert "Visit of 2 parts" in html and visit_desk_.biometrics.name in html and "<form" not in html
    assert f"{visit.reference} · 2" in html
    response = staff_client.get(f"/desk/export.csv?{query}")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-1] == "part"
    mine = [row for row in rows[1:] if row[4] == visit.reference]
    assert [row[9] for row in mine] == ["", "1", "2"]
    assert mine[2][1:4] == ["09:15", "09:45", "Counter 1"]
    assert mine[2][5:9] == [visit_desk_.biometrics.name, "2", "Adult 1 Jansen, Adult 2 Jansen", "not started"]


# ---- moving a visit on the desk ----------------------------------------------------------------------------


def test_the_move_form_offers_the_visits_arrival_times_and_no_counter(staff_client, visit_desk_, visit, desk_time):
    desk_time(datetime(2026, 11, 30, 12, 0, tzinfo=AMSTERDAM))
    response = staff_client.get(f"/desk/appointment/{visit.reference}/")
    form = response.context["move_form"]
    assert "counter" not in form.fields
    times = [value for value, _label in form.fields["time"].widget.choices if value]
    assert "09:00" in times and "12:30" not in times  # a visit of 45 minutes cannot arrive as the desk closes
    assert "12:15" not in times
    html = response.content.decode()
    assert 'name="counter"' not in html
    response = staff_client.post(f"/desk/appointment/{visit.reference}/move/", {"day": "2026-12-01", "time": "11:00"})
    assert response.status_code == 302, response.content.decode()
    visit.refresh_from_db()
    assert (visit.start, visit.end) == (at(11), at(11, 45))
    assert list(visit.parts.order_by("position").values_list("start", flat=True)) == [at(11), at(11, 15)]
    assert not SlotClaim.objects.filter(appointment=visit, unit_start__lt=at(11)).exists()


def test_the_desk_move_action_moves_a_visit_whole_and_refuses_a_counter(visit_desk_, visit, staff, monday_morning):
    with pytest.raises(BookingError):
        actions.move_appointment(
            appointment=visit, new_start=at(10), counter=visit_desk_.both, now=monday_morning, actor=staff
        )
    moved = actions.move_appointment(appointment=visit, new_start=at(10), now=monday_morning, actor=staff)
    assert (moved.start, moved.end) == (at(10), at(10, 45))
    assert SlotClaim.objects.filter(appointment=visit).count() == moved.claimed_units == 6


def test_a_check_in_is_not_undone_once_a_part_is_a_no_show(visit, staff):
    checked_in(visit, staff)
    visit_desk.no_show_part(appointment=visit, position=2, now=at(9), actor=staff)
    with pytest.raises(BookingError):
        actions.undo_check_in(appointment=visit, now=at(9, 1), actor=staff)
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CHECKED_IN


def test_a_visit_done_as_a_whole_closes_its_open_parts(visit, staff):
    checked_in(visit, staff)
    visit_desk.start_part(appointment=visit, position=1, now=at(9), actor=staff)
    actions.finish_service(appointment=visit, now=at(9, 20), actor=staff)
    parts = list(AppointmentPart.objects.filter(appointment=visit).order_by("position"))
    assert [(p.started_at, p.done_at) for p in parts] == [(at(9), at(9, 20)), (at(9, 20), at(9, 20))]
    assert not SlotClaim.objects.filter(appointment=visit, unit_start__gte=at(9, 30)).exists()


def test_a_visit_nobody_came_to_is_a_no_show_in_every_part(visit, staff):
    actions.mark_no_show(appointment=visit, now=at(9, 30), actor=staff)
    assert list(AppointmentPart.objects.filter(appointment=visit).values_list("no_show_at", flat=True)) == [
        at(9, 30),
        at(9, 30),
    ]


def test_a_visit_moved_off_a_blocked_counter_never_lands_on_it_again(visit_desk_, visit, staff, monday_morning):
    """The block page moves bookings off a blocked counter: a visit's own time there is not free for it."""
    both = visit_desk_.both
    actions.block_counter(
        counter=both, start=at(9), end=at(12, 30), reason="Broken scanner", now=monday_morning, actor=staff
    )
    assert SlotClaim.objects.filter(appointment=visit, counter=both).exists()  # still on the blocked counter
    # The biometrics counter is blocked all morning: at 09:00 the visit cannot stay, nor at 10:00.
    for start in (at(9), at(10)):
        with pytest.raises(BookingError):
            actions.move_appointment(appointment=visit, new_start=start, now=monday_morning, actor=staff)
    moved = actions.move_appointment(appointment=visit, new_start=at(13, 30), now=monday_morning, actor=staff)
    assert moved.start == at(13, 30)
    assert not SlotClaim.objects.filter(appointment=visit, unit_start__lt=at(12, 30)).exists()
