"""Holding, booking, confirming, cancelling and moving a visit of several parts (issue 13, point 2): the whole
visit, atomically — all its parts claimed, or none."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bookings import actions
from bookings.actions import BookingError
from bookings.actions.visits import INVALID_VISIT, book_visit, hold_visit
from bookings.models import Appointment, AppointmentPart, AppointmentStatus, EmailKind, OutboxEmail, SlotClaim
from bookings.privacy import export_personal_data
from bookings.visits import PartRequest
from services.models import ServiceOrder
from tests.support.admin import admin_url
from tests.support.desk import sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import ServiceFactory
from tests.support.races import invariant_violations, real_claims
from tests.support.visits import family_desk, family_names

TUESDAY = date(2026, 12, 1)


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def visit_desk(db):
    return family_desk()


def book_family(desk, start, now, **kwargs):
    return book_visit(
        location=desk.location,
        parts=desk.family(),
        start=start,
        names=family_names(),
        contact_email="jansen@example.org",
        now=now,
        **kwargs,
    )


def test_a_family_visit_is_one_booking_with_its_parts_and_all_their_claims(visit_desk, monday_morning):
    result = book_family(visit_desk, at(9), monday_morning)
    visit = result.appointment
    assert visit.status == AppointmentStatus.BOOKED and visit.part_count == 2
    assert (visit.start, visit.end, visit.persons) == (at(9), at(9, 45), 4)
    assert visit.service == visit_desk.registration  # the first part's
    parts = list(visit.parts.order_by("position"))
    assert [(p.service, p.persons) for p in parts] == [
        (visit_desk.registration, [1, 2, 3, 4]),
        (visit_desk.biometrics, [1, 2]),
    ]
    assert parts[0].start == at(9) and parts[1].end == at(9, 45)
    assert all(seat[1] == visit_desk.both.pk for seat in parts[1].seats)  # biometrics where it is served
    assert SlotClaim.objects.filter(appointment=visit).count() == visit.claimed_units == 6
    assert invariant_violations(visit_desk.location, real_claims(visit_desk.location)) == []
    # One reference, one manage link, one confirmation e-mail.
    assert list(OutboxEmail.objects.filter(appointment=visit).values_list("kind", flat=True)) == [
        EmailKind.CONFIRMATION
    ]
    assert result.manage_token


def test_the_parts_follow_the_desks_order_whatever_order_they_are_asked_in(visit_desk, monday_morning):
    ServiceOrder.objects.create(earlier=visit_desk.registration, later=visit_desk.biometrics)
    reverse = list(reversed(visit_desk.family()))
    visit = book_visit(
        location=visit_desk.location, parts=reverse, start=at(9), names=family_names(), now=monday_morning
    ).appointment
    assert [p.service for p in visit.parts.order_by("position")] == [visit_desk.registration, visit_desk.biometrics]
    # The rule the other way round puts biometrics first: the adults start there, the children register.
    ServiceOrder.objects.all().delete()
    ServiceOrder.objects.create(earlier=visit_desk.biometrics, later=visit_desk.registration)
    other = book_visit(
        location=visit_desk.location,
        parts=visit_desk.family(),
        start=at(10),
        names=family_names(),
        now=monday_morning,
    ).appointment
    first, second = other.parts.order_by("position")
    assert first.service == visit_desk.biometrics and second.service == visit_desk.registration
    adults_registration = [seat for seat in second.seats if seat[0] in (1, 2)]
    first_end = {seat[0]: seat[3] for seat in first.seats}
    assert all(seat[2] >= first_end[seat[0]] for seat in adults_registration)  # after their biometrics


def biometrics_for_group(desk, start, now, persons=6):
    """A group's biometrics, one after another on the one counter that serves it."""
    return actions.book_appointment(
        location=desk.location,
        service=desk.biometrics,
        start=start,
        names=[actions.PersonName(f"Other {n}", "Group") for n in range(persons)],
        now=now,
    ).appointment


def test_a_held_visit_is_confirmed_whole(visit_desk, monday_morning):
    hold = hold_visit(location=visit_desk.location, parts=visit_desk.family(), start=at(9), now=monday_morning)
    assert hold.status == AppointmentStatus.HELD
    assert SlotClaim.objects.filter(appointment=hold, expires_at__isnull=False).count() == 6
    booked = actions.confirm_hold(
        appointment=hold, names=family_names(), contact_email="jansen@example.org", now=monday_morning
    ).appointment
    assert booked.status == AppointmentStatus.BOOKED
    assert SlotClaim.objects.filter(appointment=booked, expires_at__isnull=True).count() == 6
    assert booked.end == at(9, 45)


def test_a_lapsed_visit_hold_that_lost_a_unit_is_placed_again_or_refused_whole(visit_desk, monday_morning):
    hold = hold_visit(location=visit_desk.location, parts=visit_desk.family(), start=at(9), now=monday_morning)
    later = monday_morning + timedelta(minutes=30)
    # After the hold lapsed, a group of six takes the biometrics counter from 09:15 to 10:45.
    taken = biometrics_for_group(visit_desk, at(9, 15), later)
    assert SlotClaim.objects.filter(appointment=hold).count() < 6  # the lapsed hold lost a unit
    with pytest.raises(BookingError) as refused:
        actions.confirm_hold(appointment=hold, names=family_names(), contact_email="j@example.org", now=later)
    assert refused.value.code == BookingError.SLOT_TAKEN
    hold.refresh_from_db()
    assert hold.status == AppointmentStatus.HELD  # nothing of the refused confirmation was kept
    # Once that booking is cancelled, the lapsed visit's time is free again and the confirmation books it whole.
    actions.cancel_appointment(appointment=taken, now=later)
    booked = actions.confirm_hold(
        appointment=hold, names=family_names(), contact_email="j@example.org", now=later
    ).appointment
    assert booked.status == AppointmentStatus.BOOKED
    assert SlotClaim.objects.filter(appointment=booked).count() == booked.claimed_units == 6
    assert invariant_violations(visit_desk.location, real_claims(visit_desk.location)) == []


def test_cancelling_a_visit_frees_every_part(visit_desk, monday_morning):
    visit = book_family(visit_desk, at(9), monday_morning).appointment
    actions.cancel_appointment(appointment=visit, now=monday_morning)
    assert not SlotClaim.objects.filter(appointment=visit).exists()
    assert Appointment.objects.get(pk=visit.pk).status == AppointmentStatus.CANCELLED


def test_a_visit_moves_whole_or_keeps_its_old_time(visit_desk, monday_morning):
    visit = book_family(visit_desk, at(9), monday_morning).appointment
    old_claims = set(SlotClaim.objects.filter(appointment=visit).values_list("counter_id", "unit_start"))
    moved = actions.reschedule_appointment(appointment=visit, new_start=at(10), now=monday_morning)
    assert (moved.start, moved.end) == (at(10), at(10, 45))
    assert {p.start for p in moved.parts.all()} >= {at(10)}
    assert SlotClaim.objects.filter(appointment=visit).count() == 6
    assert not old_claims & set(SlotClaim.objects.filter(appointment=visit).values_list("counter_id", "unit_start"))
    # 11:00: a group of five has the biometrics counter from 11:15 to the lunch break; the move is refused and
    # nothing moves.
    biometrics_for_group(visit_desk, at(11, 15), monday_morning, persons=5)
    before = set(SlotClaim.objects.filter(appointment=visit).values_list("counter_id", "unit_start"))
    with pytest.raises(BookingError) as refused:
        actions.reschedule_appointment(appointment=visit, new_start=at(11), now=monday_morning)
    assert refused.value.code == BookingError.SLOT_TAKEN
    assert set(SlotClaim.objects.filter(appointment=visit).values_list("counter_id", "unit_start")) == before
    assert Appointment.objects.get(pk=visit.pk).start == at(10)
    with pytest.raises(BookingError) as on_counter:
        actions.reschedule_appointment(appointment=visit, new_start=at(14), now=monday_morning, counter=visit_desk.both)
    assert on_counter.value.code == INVALID_VISIT


def test_a_visit_that_cannot_fit_is_refused_with_a_clear_message(visit_desk, monday_morning):
    # Arriving 12:15 the biometrics would have to wait for the lunch break to end.
    with pytest.raises(BookingError) as lunch:
        book_family(visit_desk, at(12, 15), monday_morning)
    assert lunch.value.code == BookingError.CLOSED and "wait too long" in lunch.value.message
    visit_desk.both.services.remove(visit_desk.biometrics)
    with pytest.raises(BookingError) as not_offered:
        book_family(visit_desk, at(9), monday_morning)
    assert not_offered.value.code == BookingError.COUNTER_INACTIVE
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "shape, code",
    [
        ("same service twice", INVALID_VISIT),
        ("a person left out", INVALID_VISIT),
        ("seven persons", BookingError.TOO_MANY_PERSONS),
    ],
)
def test_a_visit_of_the_wrong_shape_is_refused(visit_desk, monday_morning, shape, code):
    registration, biometrics = visit_desk.registration, visit_desk.biometrics
    parts = {
        "same service twice": [PartRequest(registration, (1,)), PartRequest(registration, (1,))],
        "a person left out": [PartRequest(registration, (1, 3)), PartRequest(biometrics, (1,))],
        "seven persons": [PartRequest(registration, (1, 2, 3, 4)), PartRequest(biometrics, (5, 6, 7))],
    }[shape]
    with pytest.raises(BookingError) as refused:
        hold_visit(location=visit_desk.location, parts=parts, start=at(9), now=monday_morning)
    assert refused.value.code == code and str(refused.value.message)
    assert not Appointment.objects.exists()


def test_a_counter_still_needed_by_a_visits_part_keeps_its_service(visit_desk, monday_morning):
    book_family(visit_desk, at(9), monday_morning)
    spec = actions.CounterSpec(
        pk=visit_desk.both.pk, name="Counter 1", is_active=True, service_ids=frozenset({visit_desk.registration.pk})
    )
    with pytest.raises(actions.ConfigurationRefused):
        actions.configure_location(
            location=visit_desk.location, fields={}, counters=[spec], now=monday_morning, actor=None
        )
    assert visit_desk.biometrics in visit_desk.both.services.all()
    assert AppointmentPart.objects.count() == 2
    # A service no part of the visit has may go from a counter the visit uses.
    other = visit_desk.others[1]
    extra = ServiceFactory()
    other.services.add(extra)
    actions.configure_location(
        location=visit_desk.location,
        fields={},
        counters=[
            actions.CounterSpec(
                pk=other.pk, name=other.name, is_active=True, service_ids=frozenset({visit_desk.registration.pk})
            )
        ],
        now=monday_morning,
        actor=None,
    )
    assert list(other.services.all()) == [visit_desk.registration]


def test_the_persons_data_export_lists_the_parts_of_their_visit(visit_desk, monday_morning):
    book_family(visit_desk, at(9), monday_morning)
    [exported] = export_personal_data(email="jansen@example.org", now=monday_morning)["appointments"]
    assert [(part["service"], part["persons"]) for part in exported["parts"]] == [
        (visit_desk.registration.name, [1, 2, 3, 4]),
        (visit_desk.biometrics.name, [1, 2]),
    ]


def test_one_live_booking_per_service_and_mailbox_counts_a_visits_parts(visit_desk, monday_morning, settings):
    settings.EXPATDESK_ONE_BOOKING_PER_EMAIL = True  # off in the test settings
    book_family(visit_desk, at(9), monday_morning)
    with pytest.raises(BookingError) as refused:
        actions.book_appointment(
            location=visit_desk.location,
            service=visit_desk.biometrics,
            start=at(14),
            names=[actions.PersonName("Adult 1", "Jansen")],
            contact_email="jansen@example.org",
            now=monday_morning,
        )
    assert refused.value.code == BookingError.SIMILAR_APPOINTMENT_EXISTS
    # A second visit with one of the same services is refused at its confirmation too.
    hold = hold_visit(location=visit_desk.location, parts=visit_desk.family(), start=at(14), now=monday_morning)
    with pytest.raises(BookingError) as again:
        actions.confirm_hold(
            appointment=hold, names=family_names(), contact_email="jansen@example.org", now=monday_morning
        )
    assert again.value.code == BookingError.SIMILAR_APPOINTMENT_EXISTS


def test_the_admin_shows_a_visits_parts(visit_desk, monday_morning, client, admin_user):
    visit = book_family(visit_desk, at(9), monday_morning).appointment
    sign_in(client, admin_user)
    page = client.get(admin_url(Appointment, "change", visit.pk)).content.decode()
    assert "Parts of a visit" in page and visit_desk.biometrics.name_en in page
    assert "[1, 2]" in page  # biometrics: the two adults
