"""Availability: opening hours, closures, holidays, notice, horizon, DST, persons, counters, holds, queries.

The desk of the `desk` fixture has three counters serving `service` (15 minutes a person, no minimum
notice, 42 days horizon) and opens Tuesday–Thursday 09:00–12:30 and 13:30–17:00 (Amsterdam).
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bookings import availability
from bookings.availability import first_free_day, first_free_days, free_days, free_slots, public_holiday_name
from bookings.management.commands.benchmark import fill_single_units
from bookings.models import Appointment, AppointmentStatus, Closure, Counter, Location, SlotClaim
from bookings.tokens import new_reference
from tests.support.env import AMSTERDAM
from tests.support.factories import CounterFactory, OpeningHoursFactory, ServiceFactory, make_desk, offer

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)
THURSDAY = date(2026, 12, 3)

MORNING = [f"{h:02d}:{m:02d}" for h in (9, 10, 11, 12) for m in (0, 15, 30, 45)][:14]  # 09:00 … 12:15
AFTERNOON = [f"{h:02d}:{m:02d}" for h in (13, 14, 15, 16) for m in (0, 15, 30, 45)][2:]  # 13:30 … 16:45


def at(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def slots_on(location: Location, service, day: date, now: datetime, persons: int = 1) -> list:
    return free_slots(location=location, service=service, persons=persons, start_date=day, end_date=day, now=now).get(
        day, []
    )


def clock_times(slots) -> list[str]:
    return [slot.start.astimezone(AMSTERDAM).strftime("%H:%M") for slot in slots]


def occupy(
    *,
    location: Location,
    service,
    counter: Counter,
    start: datetime,
    units: int = 1,
    status: str = AppointmentStatus.BOOKED,
    expires_at: datetime | None = None,
) -> Appointment:
    """Put an appointment with `units` grid units on `counter` from `start`, directly in the database."""
    grid = timedelta(minutes=location.grid_minutes)
    appointment = Appointment.objects.create(
        reference=new_reference(short_code=location.short_code),
        service=service,
        location=location,
        start=start,
        end=start + grid * units,
        persons=1,
        status=status,
        hold_expires_at=expires_at,
        claimed_units=units,
        created_at=start - timedelta(days=7),
    )
    SlotClaim.objects.bulk_create(
        SlotClaim(
            appointment=appointment,
            counter=counter,
            unit_start=start + grid * i,
            unit_end=start + grid * (i + 1),
            expires_at=expires_at,
        )
        for i in range(units)
    )
    return appointment


# ---- opening hours ----------------------------------------------------------------------------


def test_opening_hours_with_lunch_break(desk, service, monday_morning):
    slots = slots_on(desk, service, TUESDAY, monday_morning)
    assert clock_times(slots) == MORNING + AFTERNOON
    assert "12:30" not in clock_times(slots) and "13:15" not in clock_times(slots)
    assert slots[0].start == at(TUESDAY, "09:00")
    assert slots[0].end == at(TUESDAY, "09:15")


def test_a_longer_service_ends_before_lunch_and_closing(desk, monday_morning):
    long_service = ServiceFactory(duration_minutes=30)
    for counter in desk.counters.all():
        counter.services.add(long_service)
        offer(counter.location, [long_service])
    times = clock_times(slots_on(desk, long_service, TUESDAY, monday_morning))
    assert times[0] == "09:00"
    assert "12:00" in times and "12:15" not in times
    assert times[-1] == "16:30"


def test_closed_weekdays_have_no_slots(desk, service, monday_morning):
    result = free_slots(
        location=desk,
        service=service,
        persons=1,
        start_date=date(2026, 11, 30),
        end_date=date(2026, 12, 6),
        now=monday_morning,
    )
    assert list(result) == [TUESDAY, WEDNESDAY, THURSDAY]


def test_opening_hours_validity_periods(service, monday_morning):
    location = make_desk(services=[service], weekdays=())
    OpeningHoursFactory(
        location=location, weekday=1, start_time=time(9), end_time=time(12), valid_until=date(2026, 12, 8)
    )
    OpeningHoursFactory(
        location=location, weekday=1, start_time=time(10), end_time=time(14), valid_from=date(2026, 12, 15)
    )
    OpeningHoursFactory(
        location=location,
        weekday=3,
        start_time=time(13),
        end_time=time(14),
        valid_from=date(2026, 12, 10),
        valid_until=date(2026, 12, 10),
    )

    def times(day: date) -> list[str]:
        return clock_times(slots_on(location, service, day, monday_morning))

    assert times(date(2026, 12, 8))[0] == "09:00" and times(date(2026, 12, 8))[-1] == "11:45"
    assert times(date(2026, 12, 15))[0] == "10:00" and times(date(2026, 12, 15))[-1] == "13:45"
    assert times(date(2026, 12, 3)) == []  # Thursday hours not yet valid
    assert times(date(2026, 12, 10)) == ["13:00", "13:15", "13:30", "13:45"]
    assert times(date(2026, 12, 17)) == []  # and no longer valid


# ---- closures and holidays --------------------------------------------------------------------


def test_closure_of_one_location(desk, service, monday_morning):
    other = make_desk(services=[service])
    Closure.objects.create(location=desk, start_date=WEDNESDAY, end_date=THURSDAY, reason="Staff training")
    days = free_days(
        location=desk, service=service, persons=1, start_date=TUESDAY, end_date=date(2026, 12, 8), now=monday_morning
    )
    assert days == [TUESDAY, date(2026, 12, 8)]
    assert slots_on(other, service, WEDNESDAY, monday_morning) != []


def test_closure_of_all_locations(desk, service, monday_morning):
    other = make_desk(services=[service])
    Closure.objects.create(location=None, start_date=WEDNESDAY, end_date=WEDNESDAY, reason="Strike")
    for location in (desk, other):
        assert slots_on(location, service, WEDNESDAY, monday_morning) == []
        assert slots_on(location, service, THURSDAY, monday_morning) != []


def test_kings_day_is_closed(desk, service):
    # 27 April 2027 is a Tuesday: the desk would be open.
    now = datetime(2027, 4, 26, 8, 0, tzinfo=AMSTERDAM)
    assert public_holiday_name(date(2027, 4, 27)) == "King's Day"
    days = free_days(
        location=desk, service=service, persons=1, start_date=date(2027, 4, 27), end_date=date(2027, 4, 29), now=now
    )
    assert days == [date(2027, 4, 28), date(2027, 4, 29)]


def test_kings_day_moves_to_the_26th_when_the_27th_is_a_sunday(service):
    weekend_desk = make_desk(services=[service], weekdays=(5, 6))  # open Saturday and Sunday
    now = datetime(2025, 4, 25, 8, 0, tzinfo=AMSTERDAM)
    assert public_holiday_name(date(2025, 4, 26)) == "King's Day"
    assert public_holiday_name(date(2025, 4, 27)) is None
    days = free_days(
        location=weekend_desk,
        service=service,
        persons=1,
        start_date=date(2025, 4, 26),
        end_date=date(2025, 4, 27),
        now=now,
    )
    assert days == [date(2025, 4, 27)]


def test_christmas_is_closed(service):
    every_day = make_desk(services=[service], weekdays=(0, 1, 2, 3, 4, 5, 6))
    now = datetime(2026, 12, 21, 8, 0, tzinfo=AMSTERDAM)
    days = free_days(
        location=every_day,
        service=service,
        persons=1,
        start_date=date(2026, 12, 24),
        end_date=date(2026, 12, 27),
        now=now,
    )
    assert days == [date(2026, 12, 24), date(2026, 12, 27)]


def test_inactive_location_has_no_slots(desk, service, monday_morning):
    desk.is_active = False
    desk.save(update_fields=["is_active"])
    assert slots_on(desk, service, TUESDAY, monday_morning) == []
    assert first_free_day(location=desk, service=service, now=monday_morning) is None


def test_inactive_service_has_no_slots(desk, service, monday_morning):
    service.is_active = False
    service.save(update_fields=["is_active"])
    assert slots_on(desk, service, TUESDAY, monday_morning) == []
    assert first_free_day(location=desk, service=service, now=monday_morning) is None


# ---- notice and horizon -----------------------------------------------------------------------


def test_minimum_notice(desk):
    service = ServiceFactory(minimum_notice_minutes=120)
    for counter in desk.counters.all():
        counter.services.add(service)
        offer(counter.location, [service])
    now = at(TUESDAY, "10:05")
    assert clock_times(slots_on(desk, service, TUESDAY, now))[:2] == ["12:15", "13:30"]
    now = at(TUESDAY, "10:35")  # notice ends in the lunch break
    assert clock_times(slots_on(desk, service, TUESDAY, now))[0] == "13:30"


def test_no_slots_in_the_past_even_without_notice(desk, service):
    now = at(TUESDAY, "10:05")
    times = clock_times(slots_on(desk, service, TUESDAY, now))
    assert times[0] == "10:15"
    assert slots_on(desk, service, date(2026, 11, 24), now) == []  # a day already gone


def test_minimum_notice_counts_real_time_across_the_daylight_saving_night(service):
    """The night of 28 to 29 March 2026 has 23 hours: 10 hours of notice from 23:30 end at 10:30."""
    notice_service = ServiceFactory(minimum_notice_minutes=600)
    sunday_desk = make_desk(services=[service, notice_service], weekdays=(6,))
    now = datetime(2026, 3, 28, 23, 30, tzinfo=AMSTERDAM)
    times = clock_times(slots_on(sunday_desk, notice_service, date(2026, 3, 29), now))
    assert times[0] == "10:30"


def test_horizon(desk):
    service = ServiceFactory(booking_horizon_days=8)
    for counter in desk.counters.all():
        counter.services.add(service)
        offer(counter.location, [service])
    now = datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM)
    days = free_days(
        location=desk, service=service, persons=1, start_date=TUESDAY, end_date=date(2026, 12, 31), now=now
    )
    assert days == [TUESDAY, WEDNESDAY, THURSDAY, date(2026, 12, 8)]  # 30 Nov + 8 days = 8 Dec


# ---- daylight saving time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "offset_before", "offset_after"),
    [
        (date(2026, 3, 24), date(2026, 3, 31), 1, 2),  # summer time starts Sunday 29 March
        (date(2026, 10, 20), date(2026, 10, 27), 2, 1),  # and ends Sunday 25 October
    ],
)
def test_the_week_of_a_daylight_saving_change(desk, service, before, after, offset_before, offset_after):
    now = datetime.combine(before - timedelta(days=1), time(8), tzinfo=AMSTERDAM)
    result = free_slots(location=desk, service=service, persons=1, start_date=before, end_date=after, now=now)
    assert list(result) == [before, before + timedelta(1), before + timedelta(2), after]
    for day, offset in ((before, offset_before), (after, offset_after)):
        assert clock_times(result[day]) == MORNING + AFTERNOON
        first = result[day][0].start
        assert first.utcoffset() == timedelta(hours=offset)
        assert first.astimezone(UTC).hour == 9 - offset


def test_claims_after_a_daylight_saving_change_block_the_right_local_time(desk, service):
    """A claim is stored in UTC: 07:00 UTC is 09:00 on 31 March but 08:00 on 24 March."""
    now = datetime(2026, 3, 23, 8, 0, tzinfo=AMSTERDAM)
    counters = list(desk.counters.all())
    for counter in counters:
        occupy(location=desk, service=service, counter=counter, start=datetime(2026, 3, 31, 7, 0, tzinfo=UTC), units=1)
    assert clock_times(slots_on(desk, service, date(2026, 3, 31), now))[0] == "09:15"
    assert clock_times(slots_on(desk, service, date(2026, 3, 24), now))[0] == "09:00"


def test_sunday_of_the_change_itself(service):
    sunday_desk = make_desk(services=[service], weekdays=(6,))
    now = datetime(2026, 10, 24, 8, 0, tzinfo=AMSTERDAM)
    slots = slots_on(sunday_desk, service, date(2026, 10, 25), now)
    assert clock_times(slots) == MORNING + AFTERNOON
    assert slots[0].start.astimezone(UTC) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)


# ---- persons and counters ---------------------------------------------------------------------


def test_two_persons_in_parallel_on_two_counters(desk, service, monday_morning):
    slots = slots_on(desk, service, TUESDAY, monday_morning, persons=2)
    assert clock_times(slots) == MORNING + AFTERNOON
    assert slots[0].end == at(TUESDAY, "09:15")


def test_six_persons_on_three_counters_take_two_rounds(desk, service, monday_morning):
    slots = slots_on(desk, service, TUESDAY, monday_morning, persons=6)
    times = clock_times(slots)
    assert slots[0].end == at(TUESDAY, "09:30")
    assert "12:00" in times and "12:15" not in times
    assert times[-1] == "16:30"


def test_six_persons_in_a_row_on_one_counter(service, monday_morning):
    one_counter = make_desk(services=[service], counters=1)
    slots = slots_on(one_counter, service, TUESDAY, monday_morning, persons=6)
    times = clock_times(slots)
    assert times == [*MORNING[:9], *AFTERNOON[:9]]  # 09:00–11:00 and 13:30–15:30: 90 minutes must fit
    assert slots[0].end == at(TUESDAY, "10:30")


def test_two_persons_in_a_row_where_only_one_counter_is_free(desk, service, monday_morning):
    first, second, third = desk.counters.order_by("name")
    occupy(location=desk, service=service, counter=second, start=at(TUESDAY, "09:00"), units=2)
    occupy(location=desk, service=service, counter=third, start=at(TUESDAY, "09:00"), units=2)
    two = slots_on(desk, service, TUESDAY, monday_morning, persons=2)
    assert two[0].start == at(TUESDAY, "09:00")
    assert two[0].end == at(TUESDAY, "09:30")  # both on counter 1, one after the other
    snapshot = availability.load_snapshot(location=desk, start_date=TUESDAY, end_date=TUESDAY, now=monday_morning)
    allocation = snapshot.allocate(service=service, persons=2, start=at(TUESDAY, "09:00"))
    assert allocation.persons_per_counter == ((first.pk, 2),)
    # Counter 1 busy at 09:15 as well: two persons no longer fit at 09:00, one still does.
    occupy(location=desk, service=service, counter=first, start=at(TUESDAY, "09:15"), units=1)
    assert clock_times(slots_on(desk, service, TUESDAY, monday_morning, persons=2))[0] == "09:30"
    assert clock_times(slots_on(desk, service, TUESDAY, monday_morning, persons=1))[0] == "09:00"


def test_persons_must_fit_the_service(desk, service, monday_morning):
    for persons in (0, -1, 7):
        assert slots_on(desk, service, TUESDAY, monday_morning, persons=persons) == []
    pair_only = ServiceFactory(max_persons=2)
    for counter in desk.counters.all():
        counter.services.add(pair_only)
        offer(counter.location, [pair_only])
    assert slots_on(desk, pair_only, TUESDAY, monday_morning, persons=2) != []
    assert slots_on(desk, pair_only, TUESDAY, monday_morning, persons=3) == []
    assert first_free_day(location=desk, service=pair_only, now=monday_morning, persons=3) is None


def test_a_counter_that_does_not_serve_the_service(service, monday_morning):
    other_service = ServiceFactory()
    location = make_desk(services=[service], counters=1)
    CounterFactory(location=location, name="Counter IND", services=[other_service])
    occupy(
        location=location, service=service, counter=location.counters.get(name="Counter 1"), start=at(TUESDAY, "09:00")
    )
    # The IND counter is free at 09:00 but does not serve `service`.
    assert clock_times(slots_on(location, service, TUESDAY, monday_morning))[0] == "09:15"
    assert slots_on(location, service, TUESDAY, monday_morning, persons=2)[0].end == at(TUESDAY, "09:45")
    assert clock_times(slots_on(location, other_service, TUESDAY, monday_morning))[0] == "09:00"
    unserved = ServiceFactory()
    assert slots_on(location, unserved, TUESDAY, monday_morning) == []


def test_an_inactive_counter(desk, service, monday_morning):
    Counter.objects.filter(location=desk, name__in=["Counter 2", "Counter 3"]).update(is_active=False)
    slots = slots_on(desk, service, TUESDAY, monday_morning, persons=3)
    assert slots[0].end == at(TUESDAY, "09:45")  # three in a row on the one active counter
    Counter.objects.filter(location=desk).update(is_active=False)
    assert slots_on(desk, service, TUESDAY, monday_morning) == []


# ---- holds ------------------------------------------------------------------------------------


def test_an_unexpired_hold_blocks_and_an_expired_hold_does_not(desk, service, monday_morning):
    expires = monday_morning + timedelta(minutes=10)
    for counter in desk.counters.all():
        occupy(
            location=desk,
            service=service,
            counter=counter,
            start=at(TUESDAY, "09:00"),
            status=AppointmentStatus.HELD,
            expires_at=expires,
        )
    assert clock_times(slots_on(desk, service, TUESDAY, monday_morning + timedelta(minutes=9)))[0] == "09:15"
    assert clock_times(slots_on(desk, service, TUESDAY, expires))[0] == "09:00"
    assert clock_times(slots_on(desk, service, TUESDAY, expires + timedelta(minutes=1)))[0] == "09:00"


def test_cancelled_appointments_without_claims_do_not_block(desk, service, monday_morning):
    for counter in desk.counters.all():
        appointment = occupy(location=desk, service=service, counter=counter, start=at(TUESDAY, "09:00"))
        appointment.claims.all().delete()
        appointment.status = AppointmentStatus.CANCELLED
        appointment.save(update_fields=["status"])
    assert clock_times(slots_on(desk, service, TUESDAY, monday_morning))[0] == "09:00"


# ---- first free day ---------------------------------------------------------------------------


def fill_day(location: Location, service, day: date) -> None:
    for counter in location.counters.all():
        for begin, end in (("09:00", "12:30"), ("13:30", "17:00")):
            units = int((at(day, end) - at(day, begin)) / timedelta(minutes=location.grid_minutes))
            occupy(location=location, service=service, counter=counter, start=at(day, begin), units=units)


def test_first_free_day(desk, service, monday_morning):
    assert first_free_day(location=desk, service=service, now=monday_morning) == TUESDAY
    fill_day(desk, service, TUESDAY)
    fill_day(desk, service, WEDNESDAY)
    assert first_free_day(location=desk, service=service, now=monday_morning) == THURSDAY


def test_first_free_day_counts_from_today(desk, service):
    assert first_free_day(location=desk, service=service, now=at(TUESDAY, "10:00")) == TUESDAY
    assert first_free_day(location=desk, service=service, now=at(TUESDAY, "16:50")) == WEDNESDAY


def test_first_free_days_per_service(desk, service, monday_morning):
    slow = ServiceFactory(minimum_notice_minutes=3 * 24 * 60)
    unserved = ServiceFactory()
    for counter in desk.counters.all():
        counter.services.add(slow)
        offer(counter.location, [slow])
    result = first_free_days(location=desk, services=[service, slow, unserved], now=monday_morning)
    assert result == {service.pk: TUESDAY, slow.pk: THURSDAY, unserved.pk: None}


def test_no_free_day_in_the_horizon(desk):
    short = ServiceFactory(booking_horizon_days=2)
    for counter in desk.counters.all():
        counter.services.add(short)
        offer(counter.location, [short])
    now = datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM)
    assert first_free_day(location=desk, service=short, now=now) == TUESDAY
    fill_day(desk, short, TUESDAY)
    Closure.objects.create(location=desk, start_date=WEDNESDAY, end_date=WEDNESDAY, reason="Move")
    assert first_free_day(location=desk, service=short, now=now) is None  # Thursday is beyond the horizon
    assert first_free_days(location=desk, services=[short], now=now) == {short.pk: None}


# ---- query counts -----------------------------------------------------------------------------

SIX_WEEKS_START = TUESDAY
SIX_WEEKS_END = TUESDAY + timedelta(weeks=6)
COUNTERS_FOR_LOAD = 12


@pytest.fixture
def busy_desk(db, service):
    return make_desk(services=[service], counters=COUNTERS_FOR_LOAD)


def create_appointments(location: Location, service, count: int, now: datetime) -> None:
    """`count` one-unit bookings spread over the six weeks' open units and the counters, in bulk (the
    benchmark's own filling)."""
    booked = fill_single_units(
        location=location, service=service, count=count, now=now, start_date=SIX_WEEKS_START, end_date=SIX_WEEKS_END
    )
    assert booked == count


@pytest.mark.parametrize("appointments", [0, 100, 5000])
def test_six_weeks_of_free_slots_cost_constant_queries(
    busy_desk, service, monday_morning, appointments, django_assert_num_queries
):
    create_appointments(busy_desk, service, appointments, monday_morning)
    assert SlotClaim.objects.count() == appointments

    # The configuration's version (kept while the appointments were made); the days' claims versions and the
    # holds; the lasting claims of the days whose version this process has not kept, whatever their number
    # (here every day: it has not read them before).
    def six_weeks() -> dict:
        return free_slots(
            location=busy_desk,
            service=service,
            persons=1,
            start_date=SIX_WEEKS_START,
            end_date=SIX_WEEKS_END,
            now=monday_morning,
        )

    with django_assert_num_queries(3):
        result = six_weeks()
    assert len(result) == 18  # Tue–Thu in the six weeks up to the horizon, 11 January
    with django_assert_num_queries(2):  # every day's lasting claims kept
        assert six_weeks() == result
    snapshot = availability.load_snapshot(
        location=busy_desk, start_date=SIX_WEEKS_START, end_date=SIX_WEEKS_END, now=monday_morning
    )
    assert len(snapshot.taken) == appointments
    # From now on: a UTC day before the six weeks' may be read once first (a day this process has not read).
    first_free_day(location=busy_desk, service=service, now=monday_morning)
    with django_assert_num_queries(2):
        assert first_free_day(location=busy_desk, service=service, now=monday_morning) == TUESDAY
    other = ServiceFactory()
    with django_assert_num_queries(2):
        result = first_free_days(location=busy_desk, services=[service, other], now=monday_morning)
    assert result == {service.pk: TUESDAY, other.pk: None}
