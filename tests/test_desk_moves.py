"""Moving bookings at the desk: the counter-block page, the move form's free times, and why a move is refused."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import actions
from bookings.actions import BookingError
from bookings.models import AppointmentEvent, EmailKind, EventKind, OutboxEmail, SlotClaim
from desk import clock
from tests.support.desk import book, desk_staff, sign_in
from tests.support.env import AMSTERDAM

TUESDAY = datetime(2026, 12, 1, tzinfo=AMSTERDAM)


def at(hour: int, minute: int = 0) -> datetime:
    return TUESDAY.replace(hour=hour, minute=minute)


@pytest.fixture
def staff(db, desk):
    return desk_staff()


@pytest.fixture
def staff_client(client, staff, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: at(8))
    return sign_in(client, staff)


@pytest.fixture
def counters(desk):
    return list(desk.counters.order_by("name"))


@pytest.fixture
def on_blocked(desk, service, counters, monday_morning, staff):
    """Anna at 10:00 on Counter 1, which is then blocked 9:30-12:00 for illness."""
    anna = book(desk, service, at(10), now=monday_morning, counter=counters[0])
    block = actions.block_counter(
        counter=counters[0], start=at(9, 30), end=at(12), reason="Ill", now=monday_morning, actor=staff
    )
    return anna, block


def reschedule_emails(appointment) -> int:
    return OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.RESCHEDULE).count()


def claimed_counters(appointment) -> set[int]:
    return set(SlotClaim.objects.filter(appointment=appointment).values_list("counter_id", flat=True))


# ---- the counter-block page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "heading", "period"),
    [
        ("en", "Counter 1 is blocked", "Tue 1 Dec 2026 09:30 – Tue 1 Dec 2026 12:00"),
        ("nl", "Counter 1", "di 1 dec 2026 09:30 – di 1 dec 2026 12:00"),
    ],
)
def test_the_block_page_shows_counter_period_and_reason(staff_client, on_blocked, counters, language, heading, period):
    anna, block = on_blocked
    response = staff_client.get(f"/desk/block/{block.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    h1 = html[html.index("<h1") : html.index("</h1>")]
    assert heading in h1 and "Counter 1" in h1
    assert period in html
    assert "Ill" in html
    assert "– ·" not in html and "<p> – " not in html
    # The cancel form's reason is the block's; the move form never offers the blocked counter.
    assert f'id="cancel-reason-{anna.pk}" maxlength="200" value="Ill"' in html
    select = html[html.index(f'id="move-{anna.pk}-counter"') :]
    select = select[: select.index("</select>")]
    assert f'value="{counters[0].pk}"' not in select
    assert f'value="{counters[1].pk}"' in select and f'value="{counters[2].pk}"' in select


def test_any_free_counter_at_the_same_time_leaves_the_blocked_counter_without_an_email(
    staff_client, on_blocked, counters, staff
):
    anna, block = on_blocked
    response = staff_client.post(
        f"/desk/appointment/{anna.reference}/move/",
        {"day": "2026-12-01", "time": "10:00", "counter": "", "next": f"/desk/block/{block.pk}/"},
    )
    assert response.status_code == 302
    assert response.url == f"/desk/block/{block.pk}/"
    anna.refresh_from_db()
    assert anna.start == at(10)
    assert counters[0].pk not in claimed_counters(anna)
    assert SlotClaim.objects.filter(block=block, unit_start=at(10)).exists()  # the unit went to the block
    assert reschedule_emails(anna) == 0  # same time: nothing to tell the person
    event = AppointmentEvent.objects.filter(appointment=anna).latest("pk")
    assert (event.kind, event.actor, event.detail) == (EventKind.RESCHEDULED, staff, "Counter 1 → Counter 2")
    assert "No appointment is affected" in staff_client.get(response.url).content.decode()


def test_when_no_other_counter_is_free_the_move_is_refused_plainly(
    staff_client, desk, service, on_blocked, counters, monday_morning
):
    anna, _block = on_blocked
    for counter in counters[1:]:
        book(desk, service, at(10), now=monday_morning, counter=counter)
    response = staff_client.post(
        f"/desk/appointment/{anna.reference}/move/", {"day": "2026-12-01", "time": "10:00", "counter": ""}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "No other counter is free at that time: Counter 1 is blocked then." in html
    assert "just been taken" not in html
    anna.refresh_from_db()
    assert (anna.start, claimed_counters(anna), reschedule_emails(anna)) == (at(10), {counters[0].pk}, 0)


def test_a_move_that_changes_nothing_is_refused_and_sends_nothing(desk, service, counters, monday_morning, staff):
    anna = book(desk, service, at(10), now=monday_morning, counter=counters[1])
    for counter in (None, counters[1]):
        with pytest.raises(BookingError) as refused:
            actions.move_appointment(appointment=anna, new_start=at(10), counter=counter, now=at(8), actor=staff)
        assert refused.value.code == actions.NO_CHANGE
    anna.refresh_from_db()
    assert (anna.sequence, reschedule_emails(anna)) == (0, 0)
    assert AppointmentEvent.objects.filter(appointment=anna, kind=EventKind.RESCHEDULED).count() == 0


def test_a_move_to_another_time_emails_once(desk, service, counters, monday_morning, staff):
    anna = book(desk, service, at(10), now=monday_morning, counter=counters[1])
    moved = actions.move_appointment(appointment=anna, new_start=at(14), counter=None, now=at(8), actor=staff)
    assert (moved.start, moved.end, moved.sequence) == (at(14), at(14, 15), 1)
    assert reschedule_emails(anna) == 1


def test_the_block_page_costs_the_same_queries_for_one_or_three_affected(
    staff_client, desk, service, counters, monday_morning, staff
):
    def block_page_queries() -> tuple[int, int]:
        block = actions.block_counter(
            counter=counters[0], start=at(9), end=at(12), reason="Ill", now=monday_morning, actor=staff
        )
        url = f"/desk/block/{block.pk}/"
        staff_client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(url)
        assert response.status_code == 200
        actions.end_counter_block(block=block, now=monday_morning)
        return len(response.context["affected"]), len(queries)

    book(desk, service, at(10), now=monday_morning, counter=counters[0])
    one = block_page_queries()
    book(desk, service, at(11), now=monday_morning, counter=counters[0])
    book(desk, service, at(11, 30), now=monday_morning, counter=counters[0])
    three = block_page_queries()
    assert (one[0], three[0]) == (1, 3)
    assert one[1] == three[1]


# ---- the move form offers the free times, with their counters ----------------------------------------


def test_the_move_form_offers_the_free_times_with_their_counters(staff_client, desk, service, counters, monday_morning):
    anna = book(desk, service, at(10), now=monday_morning, counter=counters[0])
    for counter in counters:
        book(desk, service, at(11), now=monday_morning, counter=counter)  # 11:00 is full
    book(desk, service, at(11, 15), now=monday_morning, counter=counters[1])
    html = staff_client.get(f"/desk/appointment/{anna.reference}/").content.decode()
    assert 'name="time"' in html and 'type="time"' not in html
    assert '<option value="11:15">11:15–11:30 · Counter 1, Counter 3</option>' in html
    assert '<option value="10:00">10:00–10:15 · Counter 1, Counter 2, Counter 3</option>' in html
    assert 'value="11:00"' not in html  # full: not offered
    # Another day through the day picker.
    other = staff_client.get(f"/desk/appointment/{anna.reference}/?move_day=2026-12-02").content.decode()
    assert "Free times on Wed 2 Dec 2026" in other
    assert '<option value="09:00">09:00–09:15 · Counter 1, Counter 2, Counter 3</option>' in other
    closed = staff_client.get(f"/desk/appointment/{anna.reference}/?move_day=2026-12-25").content.decode()
    assert "The desk is closed on Fri 25 Dec 2026 (Christmas Day)." in closed


@pytest.mark.parametrize(
    ("target", "counter_index", "code", "text"),
    [
        ("11:00", None, actions.FULL, "That time is full"),
        ("10:30", 0, actions.COUNTER_BLOCKED, "Counter 1 is blocked at that time (Training)."),
        ("11:15", 1, actions.COUNTER_TAKEN, "Counter 2 has another booking at that time. Free then: Counter 3."),
    ],
)
def test_a_refused_move_says_why(
    staff_client, desk, service, counters, monday_morning, staff, target, counter_index, code, text
):
    anna = book(desk, service, at(14), now=monday_morning, counter=counters[2])
    for counter in counters:
        book(desk, service, at(11), now=monday_morning, counter=counter)
    book(desk, service, at(11, 15), now=monday_morning, counter=counters[1])
    book(desk, service, at(11, 15), now=monday_morning, counter=counters[0])
    actions.block_counter(
        counter=counters[0], start=at(10, 30), end=at(10, 45), reason="Training", now=monday_morning, actor=staff
    )
    counter = counters[counter_index] if counter_index is not None else None
    hour, minute = map(int, target.split(":"))
    with pytest.raises(BookingError) as refused:
        actions.move_appointment(appointment=anna, new_start=at(hour, minute), counter=counter, now=at(8), actor=staff)
    assert refused.value.code == code
    assert text in str(refused.value.message)
    response = staff_client.post(
        f"/desk/appointment/{anna.reference}/move/",
        {"day": "2026-12-01", "time": target, "counter": counter.pk if counter else ""},
    )
    assert response.status_code == 409
    assert text in response.content.decode()
    assert "just been taken" not in response.content.decode()
    anna.refresh_from_db()
    assert (anna.start, reschedule_emails(anna)) == (at(14), 0)


def test_a_move_without_a_time_asks_for_one(staff_client, desk, service, counters, monday_morning):
    anna = book(desk, service, at(10), now=monday_morning)
    response = staff_client.post(f"/desk/appointment/{anna.reference}/move/", {"day": "2026-12-01", "time": ""})
    assert response.status_code == 400
    assert "Choose one of the free times." in response.content.decode()
