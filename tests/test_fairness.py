"""Fair access (issue 9, DESIGN.md §6): one client address, one mailbox, one employer holds and books at most
its share of the counter time, per day and over the horizon, through every door; e-mail addresses are
compared as their mailbox.

The test settings switch the caps off; here they get their real values (or an employer's own).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from bookings import abuse, actions, availability, fairness
from bookings.actions import BookingError, PersonName
from bookings.mailboxes import mailbox_key, normalise_mailbox
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from employers import actions as employer_actions
from employers.fairness import employer_share
from tests.support.desk import sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import ServiceFactory, make_desk
from tests.support.plans import generic_plan
from tests.support.public_flow import MANAGE_PATH, details_data
from tests.support.urls import reverse

TUESDAY, WEDNESDAY, THURSDAY = date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 10)
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=AMSTERDAM)
DAY_SHARE, HORIZON_SHARE = 180, 360  # the defaults of EXPATDESK_FAIR_SHARE_DAY_MINUTES / _HORIZON_MINUTES
PERSONS = 2  # of a 30-minute service: 60 minutes of counter time a booking


def at(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def people(count: int) -> list[PersonName]:
    return [PersonName(first_name=f"Person {index + 1}", last_name="Jansen") for index in range(count)]


@pytest.fixture
def shares(settings):
    settings.EXPATDESK_FAIR_SHARE_DAY_MINUTES = DAY_SHARE
    settings.EXPATDESK_FAIR_SHARE_HORIZON_MINUTES = HORIZON_SHARE
    settings.EXPATDESK_API_WRITE_RATE = settings.EXPATDESK_API_POLL_RATE = "10000/m"  # not what is tested here
    return settings


@pytest.fixture
def longest(db):
    """The longest service of the catalogue: 30 minutes a person, up to 6 persons."""
    return ServiceFactory(duration_minutes=30, max_persons=6)


@pytest.fixture
def demo_desk(longest):
    """As the demo desk: three counters, Tuesday to Thursday 09:00–12:30 and 13:30–17:00."""
    return make_desk(services=[longest], short_code="FAIR")


def minutes_by_day(appointments) -> dict[date, int]:
    """Counter time of live holds and bookings per local day, counted from the rows (not by the code tested)."""
    now = timezone.now()
    totals: dict[date, int] = defaultdict(int)
    for appointment in appointments:
        live = appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN) or (
            appointment.status == AppointmentStatus.HELD and appointment.hold_expires_at > now
        )
        if live:
            totals[appointment.start.astimezone(AMSTERDAM).date()] += appointment.persons * 30
    return dict(totals)


# ---- mailboxes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "mailbox"),
    [
        ("Jane.Doe@Example.org", "jane.doe@example.org"),
        ("jane.doe+booking-7@example.org", "jane.doe@example.org"),
        ("J.a.n.e+x@GoogleMail.com", "jane@gmail.com"),
        ("jane.doe@gmail.com", "janedoe@gmail.com"),
        ("  jane@outlook.com ", "jane@outlook.com"),
        ("+only@example.org", "+only@example.org"),  # nothing before the "+": no sub-address to drop
        ("not an address", "not an address"),
    ],
)
def test_addresses_are_compared_as_the_mailbox_they_deliver_to(typed, mailbox):
    assert normalise_mailbox(typed) == mailbox


def test_the_mailbox_key_is_a_keyed_hash_equal_for_every_spelling_of_one_mailbox():
    key = mailbox_key("jane+1@example.org")
    assert key == mailbox_key("JANE+2@example.org") == mailbox_key("jane@example.org")
    assert key != mailbox_key("john@example.org")
    assert "jane" not in key and len(key) == 64
    assert mailbox_key("") == ""


def test_one_booking_per_mailbox_and_service_whatever_the_alias(desk, service, monday_morning, settings):
    settings.EXPATDESK_ONE_BOOKING_PER_EMAIL = True
    first = actions.book_appointment(
        location=desk,
        service=service,
        start=at(date(2026, 12, 1), "09:00"),
        names=people(1),
        contact_email="Jane.Doe+first@gmail.com",
        now=monday_morning,
    )
    for alias in ("janedoe+second@googlemail.com", "j.a.n.e.d.o.e@gmail.com"):
        with pytest.raises(BookingError) as refused:
            actions.book_appointment(
                location=desk,
                service=service,
                start=at(date(2026, 12, 1), "10:00"),
                names=people(1),
                contact_email=alias,
                now=monday_morning,
            )
        assert refused.value.code == BookingError.SIMILAR_APPOINTMENT_EXISTS
    # Stored as typed: that is where the e-mails go.
    assert Appointment.objects.get(pk=first.appointment.pk).contact_email == "Jane.Doe+first@gmail.com"


def test_the_cool_down_counts_cancellations_per_mailbox(desk, service, monday_morning, settings):
    settings.EXPATDESK_COOLDOWN_CANCELLATIONS = 3
    for index, clock in enumerate(("09:00", "09:15", "09:30")):
        booked = actions.book_appointment(
            location=desk,
            service=service,
            start=at(date(2026, 12, 1), clock),
            names=people(1),
            contact_email=f"jane+{index}@example.org",
            now=monday_morning,
        )
        actions.cancel_appointment(appointment=booked.appointment, now=monday_morning)
    other = abuse.mailbox_standing(services=[], email="jane+other@example.org", now=monday_morning)
    assert other.cooldown_until is not None
    assert abuse.mailbox_standing(services=[], email="john@example.org", now=monday_morning).cooldown_until is None


# ---- the caps, in the actions ------------------------------------------------------------------------------


def hold(desk, service, start, *, persons=PERSONS, key="address-a", now=MONDAY, **kwargs):
    return actions.hold_slot(
        location=desk, service=service, start=start, persons=persons, now=now, client_key=key, **kwargs
    )


def test_an_address_holds_at_most_its_share_of_a_day_and_of_the_horizon(shares, demo_desk, longest):
    hold(demo_desk, longest, at(TUESDAY, "09:00"), persons=6)  # 180 minutes: one family's visit
    with pytest.raises(BookingError) as refused:
        hold(demo_desk, longest, at(TUESDAY, "14:00"), persons=1)
    assert refused.value.code == BookingError.FAIR_SHARE_EXCEEDED
    assert "180 minutes" in str(refused.value.message) and "for one day" in str(refused.value.message)
    hold(demo_desk, longest, at(TUESDAY, "14:00"), persons=1, key="address-b")  # another address
    hold(demo_desk, longest, at(WEDNESDAY, "09:00"), persons=6)  # another day: 360 over the horizon
    with pytest.raises(BookingError) as refused:
        hold(demo_desk, longest, at(THURSDAY, "09:00"), persons=1)
    assert refused.value.code == BookingError.FAIR_SHARE_EXCEEDED
    assert "360 minutes" in str(refused.value.message) and "coming weeks" in str(refused.value.message)
    assert minutes_by_day(Appointment.objects.filter(client_key="address-a")) == {TUESDAY: 180, WEDNESDAY: 180}


def test_a_refused_hold_leaves_nothing_behind(shares, demo_desk, longest):
    hold(demo_desk, longest, at(TUESDAY, "09:00"), persons=6)
    before = (Appointment.objects.count(), SlotClaim.objects.count())
    with pytest.raises(BookingError):
        hold(demo_desk, longest, at(TUESDAY, "11:00"), persons=2)
    assert (Appointment.objects.count(), SlotClaim.objects.count()) == before


def test_confirming_a_hold_does_not_count_it_twice(shares, demo_desk, longest):
    held = hold(demo_desk, longest, at(TUESDAY, "09:00"), persons=6)
    result = actions.confirm_hold(appointment=held, names=people(6), contact_email="jane@example.org", now=MONDAY)
    booked = Appointment.objects.get(pk=result.appointment.pk)
    assert booked.status == AppointmentStatus.BOOKED
    assert booked.client_key == "address-a"  # still counted for the address, now as a booking
    assert booked.mailbox_key == mailbox_key("jane@example.org")


def test_lapsed_and_cancelled_holds_free_the_share(shares, demo_desk, longest):
    first = hold(demo_desk, longest, at(TUESDAY, "09:00"), persons=6)
    actions.cancel_appointment(appointment=first, now=MONDAY)
    second = hold(demo_desk, longest, at(TUESDAY, "10:00"), persons=6)
    later = second.hold_expires_at + timedelta(seconds=1)
    hold(demo_desk, longest, at(TUESDAY, "11:00"), persons=6, now=later)  # the lapsed hold counts no more


def test_one_mailbox_books_at_most_its_share_from_any_address(shares, demo_desk, longest):
    for index, clock in enumerate(("09:00", "10:00", "11:00")):
        held = hold(demo_desk, longest, at(TUESDAY, clock), key=f"address-{index}")
        actions.confirm_hold(
            appointment=held, names=people(PERSONS), contact_email=f"Jane+{index}@example.org", now=MONDAY
        )
    held = hold(demo_desk, longest, at(TUESDAY, "14:00"), key="address-9")
    with pytest.raises(BookingError) as refused:
        actions.confirm_hold(appointment=held, names=people(PERSONS), contact_email="jane+9@example.org", now=MONDAY)
    assert refused.value.code == BookingError.FAIR_SHARE_EXCEEDED
    assert Appointment.objects.get(pk=held.pk).status == AppointmentStatus.HELD  # rolled back whole


def test_a_move_by_the_person_stays_within_the_days_share_but_staff_may_move_past_it(
    shares, demo_desk, longest, admin_user
):
    for clock in ("09:00", "10:00", "11:00"):
        held = hold(demo_desk, longest, at(TUESDAY, clock))
        actions.confirm_hold(appointment=held, names=people(PERSONS), contact_email="jane@example.org", now=MONDAY)
    other = hold(demo_desk, longest, at(WEDNESDAY, "09:00"))
    moving = actions.confirm_hold(
        appointment=other, names=people(PERSONS), contact_email="jane@example.org", now=MONDAY
    ).appointment
    with pytest.raises(BookingError) as refused:
        actions.reschedule_appointment(appointment=moving, new_start=at(TUESDAY, "14:00"), now=MONDAY)
    assert refused.value.code == BookingError.FAIR_SHARE_EXCEEDED
    assert Appointment.objects.get(pk=moving.pk).start == at(WEDNESDAY, "09:00")
    actions.reschedule_appointment(appointment=moving, new_start=at(TUESDAY, "14:00"), now=MONDAY, actor=admin_user)


def test_an_owner_share_replaces_the_address_with_its_own_limits(shares, demo_desk, longest):
    share = fairness.owner_share(owner="employer:1", day_minutes=300, horizon_minutes=300)
    for clock in ("09:00", "10:00", "11:00", "14:00", "15:00"):  # 5 x 60 = 300: past an address's 180
        hold(demo_desk, longest, at(TUESDAY, clock), share=share)
    with pytest.raises(BookingError) as refused:
        hold(demo_desk, longest, at(WEDNESDAY, "09:00"), share=share)
    assert refused.value.code == BookingError.FAIR_SHARE_EXCEEDED
    assert Appointment.objects.filter(client_key=share.key).count() == 5
    assert not Appointment.objects.filter(client_key="address-a").exists()
    hold(demo_desk, longest, at(WEDNESDAY, "09:00"))  # the address itself still has its own share


# ---- hoarding through every door ---------------------------------------------------------------------------


def hoard_starts(desk, service, per_day: int = 4) -> list[str]:
    """What a script tries: free times an hour apart (so that each is still free after the others are
    booked), `per_day` of them on each of the next three open days."""
    now = timezone.now()
    tomorrow = now.astimezone(desk.tz).date() + timedelta(days=1)
    by_day = availability.free_slots(
        location=desk,
        service=service,
        persons=PERSONS,
        start_date=tomorrow,
        end_date=tomorrow + timedelta(days=21),
        now=now,
    )
    days = sorted(by_day)[:3]
    assert len(days) == 3
    starts = []
    for day in days:
        spaced = [slot.start for slot in by_day[day] if slot.start.astimezone(desk.tz).minute == 0]
        assert len(spaced) >= per_day
        starts += [start.isoformat() for start in spaced[:per_day]]
    return starts


def book_on_the_web(client, desk, service, start: str, email: str) -> bool:
    answers = {"persons": str(PERSONS)}
    held = client.post(reverse("bookings:hold", kwargs={"service_code": service.code}), {**answers, "start": start})
    if held["Location"] != reverse("bookings:details"):
        return False
    booked = client.post(reverse("bookings:details"), details_data(PERSONS, email=email))
    return booked.status_code == 302 and MANAGE_PATH.fullmatch(booked["Location"]) is not None


def book_through_the_ind_api(client, desk, service, start: str, email: str) -> bool:
    product = service.code.upper()
    listed = client.get(f"/oap/api/desks/{desk.short_code}/slots/?productKey={product}&persons={PERSONS}")
    wanted = datetime.fromisoformat(start)
    slots = [s for s in json.loads(listed.content[6:])["data"] if _slot_start(desk, s) == wanted]
    if not slots:
        return False
    slot = slots[0]
    payload = {
        "bookableSlot": slot,
        "appointment": {
            "productKey": product,
            "email": email,
            "language": "en",
            "customers": [{"firstName": f"Jane{n}", "lastName": "Doe"} for n in range(PERSONS)],
        },
    }
    response = client.post(f"/oap/api/desks/{desk.short_code}/appointments", payload, content_type="application/json")
    return response.status_code == 200


def _slot_start(desk, slot: dict) -> datetime:
    day = date.fromisoformat(slot["date"])
    hour, minute = map(int, slot["startTime"].split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=desk.tz)


def book_through_api_v1(client, desk, service, start: str, email: str) -> bool:
    held = client.post(
        "/api/v1/holds/",
        {"location": desk.short_code, "service": service.code, "start": start, "persons": PERSONS},
        content_type="application/json",
    )
    if held.status_code != 201:
        return False
    booked = client.post(
        "/api/v1/bookings/",
        {
            "hold_token": held.json()["hold_token"],
            "names": [{"first_name": f"Jane{n}", "last_name": "Doe"} for n in range(PERSONS)],
            "email": email,
            "consent": True,
        },
        content_type="application/json",
    )
    return booked.status_code == 201


DOORS = {"web": book_on_the_web, "oap-api": book_through_the_ind_api, "api-v1": book_through_api_v1}


@pytest.mark.parametrize("door", DOORS)
def test_one_address_with_aliases_ends_with_at_most_its_share_through_every_door(
    client, shares, demo_desk, longest, door
):
    """A script from one address books every time it can, each with another `name+N@` alias of one mailbox:
    it ends with one family's visit a day (180 of the demo desk's 1,260 minutes) and 360 minutes in all."""
    book = DOORS[door]
    won = [
        book(client, demo_desk, longest, start, f"hoarder+{number}@example.org")
        for number, start in enumerate(hoard_starts(demo_desk, longest))
    ]
    assert won == [True] * 3 + [False] + [True] * 3 + [False] * 5  # 3 a day (180), 6 in all (360), then refused
    per_day = minutes_by_day(Appointment.objects.all())
    assert max(per_day.values()) == DAY_SHARE
    assert sum(per_day.values()) == HORIZON_SHARE
    assert max(per_day.values()) / (3 * 7 * 60) < 0.25  # never near a quarter of the demo desk's day


def test_signed_in_hr_staff_are_capped_per_employer_not_per_address(client, shares, demo_desk, longest, settings):
    settings.EXPATDESK_EMPLOYER_DAY_MINUTES = 240  # 4 bookings of 60 minutes: past an address's 180
    settings.EXPATDESK_EMPLOYER_HORIZON_MINUTES = 480
    employer = employer_actions.sign_up_employer(
        name="Brightlands B.V.",
        sponsor_number="",
        contact_name="Hanna Rood",
        email="hr@brightlands.example",
        password="a long and secret password",
        now=timezone.now(),
    )
    employer = employer_actions.approve_employer(employer=employer, now=timezone.now(), actor=None)
    sign_in(client, User.objects.get(username="hr@brightlands.example"))
    won = [
        book_on_the_web(client, demo_desk, longest, start, f"employee{number}@example.org")
        for number, start in enumerate(hoard_starts(demo_desk, longest, per_day=6))
    ]
    assert won == [True] * 4 + [False] * 2 + [True] * 4 + [False] * 8  # 4 a day on two days: the employer's share
    appointments = Appointment.objects.filter(status=AppointmentStatus.BOOKED)
    assert set(appointments.values_list("client_key", flat=True)) == {employer_share(employer).key}
    per_day = minutes_by_day(appointments)
    assert max(per_day.values()) == 240 and sum(per_day.values()) == 480
    # The same address signed out is an address again, with its own share.
    client.logout()
    assert book_on_the_web(client, demo_desk, longest, hoard_starts(demo_desk, longest)[-1], "me@example.org")


def test_the_usage_query_counts_what_the_orm_counts(postgresql, service, monday_morning):
    """fairness.owner_usage's query written out (PostgreSQL) against the ORM's: an address's and a mailbox's
    minutes on a day and over the horizon, at two locations with other grids, and the address's live holds;
    lapsed holds, cancelled and finished bookings and other owners left out."""
    ten = make_desk(services=[service], grid_minutes=10)
    fifteen = make_desk(services=[service])
    now = monday_morning
    tuesday, wednesday = date(2026, 12, 1), date(2026, 12, 2)
    address, mailbox = fairness.address_share("address-a"), fairness.mailbox_share("jane@example.org")
    actions.hold_slot(
        location=ten, service=service, start=at(tuesday, "09:00"), persons=2, now=now, client_key="address-a"
    )
    actions.hold_slot(
        location=fifteen, service=service, start=at(wednesday, "09:00"), persons=1, now=now, client_key="address-a"
    )
    lapsed = actions.hold_slot(
        location=fifteen,
        service=service,
        start=at(tuesday, "10:00"),
        persons=1,
        now=now - timedelta(hours=1),
        client_key="address-a",
    )
    booked = actions.hold_slot(
        location=fifteen, service=service, start=at(tuesday, "11:00"), persons=3, now=now, client_key="address-a"
    )
    actions.confirm_hold(appointment=booked, names=people(3), contact_email="Jane+x@example.org", now=now)
    cancelled = actions.book_appointment(
        location=ten,
        service=service,
        start=at(tuesday, "13:30"),
        names=people(1),
        contact_email="jane@example.org",
        now=now,
    ).appointment
    actions.cancel_appointment(appointment=cancelled, now=now)
    actions.book_appointment(
        location=ten,
        service=service,
        start=at(wednesday, "14:00"),
        names=people(1),
        contact_email="jane@example.org",
        now=now,
    )
    actions.hold_slot(
        location=ten, service=service, start=at(tuesday, "15:00"), persons=1, now=now, client_key="address-b"
    )
    assert lapsed.hold_expires_at <= now

    for day in (tuesday, wednesday):
        asked = {"day_start": at(day, "00:00"), "day_end": at(day + timedelta(days=1), "00:00"), "now": now}
        for holds_of in ("", "address-a"):
            by_sql = fairness._totals_by_sql(shares=[address, mailbox], holds_of=holds_of, **asked)
            by_orm = fairness._totals_by_orm(shares=[address, mailbox], holds_of=holds_of, **asked)
            assert by_sql == by_orm, (day, holds_of)
    usages, holds = fairness.owner_usage(
        shares=[address, mailbox], location=ten, start=at(tuesday, "09:00"), now=now, holds_of="address-a"
    )
    # Tuesday: 2 persons x 2 units x 10 (15 minutes on the 10-minute grid) + 3 x 15; the horizon adds Wednesday's
    # hold of 15
    assert usages[0] == fairness.Usage(day_minutes=40 + 45, horizon_minutes=40 + 45 + 15)
    # The mailbox: the booking (Jane+x is Jane's mailbox) and Wednesday's booking of 2 x 10
    assert usages[1] == fairness.Usage(day_minutes=45, horizon_minutes=45 + 20)
    assert holds == 2


def test_the_usage_query_finds_its_owners_by_index_whatever_the_keys(postgresql, service, monday_morning):
    """A connection prepares the usage query once it has run it often, and PostgreSQL may then keep one plan for
    every key (a generic plan). That plan must still find the owners' appointments through the indexes of the
    keys, which cover only non-empty keys: without the query saying its keys are not empty, the plan read every
    appointment ever booked (140-440 ms against 0.1-0.2 with a million past ones: README, Performance)."""
    desk = make_desk(services=[service])
    shares = [fairness.address_share("address-a"), fairness.mailbox_share("jane@example.org")]
    day_start, day_end = fairness.day_bounds(location=desk, start=at(date(2026, 12, 1), "09:00"))
    sql, params = fairness.usage_sql(
        shares=shares, day_start=day_start, day_end=day_end, now=monday_morning, holds_of="address-a"
    )
    plan = generic_plan(sql, params)
    assert "appointment_client_key" in plan and "appointment_mailbox_key" in plan, plan
    assert "Seq Scan on bookings_appointment" not in plan, plan
