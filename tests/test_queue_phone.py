"""Phone bookings for other days: booked through the engine's rules and caps, with or without e-mail; without
one, a printable confirmation, nothing sent, manageable by the desk by reference, anonymised on schedule."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse

from bookings import actions
from bookings.actions import BookingError, PersonName
from bookings.models import Appointment, AppointmentStatus, OutboxEmail, Person, SlotClaim
from desk import clock
from queueing import phone
from tests.support.desk import desk_staff, sign_in
from tests.support.queue import MONDAY_MORNING, TUESDAY, at

WEDNESDAY = TUESDAY + timedelta(days=1)


@pytest.fixture
def desk_time(monkeypatch):
    def set_time(moment):
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_time(MONDAY_MORNING)
    return set_time


@pytest.fixture
def staff(db, desk):  # assigned to the desk (desk_staff takes every location there is)
    return desk_staff()


@pytest.fixture
def staff_client(client, staff, desk_time):
    return sign_in(client, staff)


def names(*pairs):
    return [PersonName(first_name=f, last_name=last) for f, last in pairs]


def form(desk, service, **extra):
    data = {
        "location": desk.pk,
        "service": service.pk,
        "day": "2026-12-02",
        "time": "10:00",
        "first_name_1": "Piet",
        "last_name_1": "Bellen",
        "phone": "+31 6 1234 5678",
        "language": "nl",
    }
    data.update(extra)
    return data


def test_a_caller_without_e_mail_is_booked_and_gets_a_printable_confirmation(staff_client, desk, service):
    response = staff_client.post(reverse("queueing:phone_booking"), form(desk, service))
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("queueing:phone_confirmation", args=[appointment.reference])
    assert appointment.status == AppointmentStatus.BOOKED and appointment.contact_email == ""
    assert appointment.phone == "+31 6 1234 5678" and appointment.client_key  # a keyed hash, the caller's share
    assert "31612345678" not in appointment.client_key
    assert not OutboxEmail.objects.exists()  # nothing to send
    page = staff_client.get(response["Location"])
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    text = page.content.decode()
    assert appointment.reference in text and "Piet Bellen" in text and "nothing is e-mailed" in text


def test_with_e_mail_the_confirmation_is_sent_as_usual(staff_client, desk, service):
    staff_client.post(reverse("queueing:phone_booking"), form(desk, service, contact_email="piet@example.org"))
    assert OutboxEmail.objects.filter(appointment=Appointment.objects.get()).exists()


def test_without_e_mail_a_phone_number_is_required(staff_client, desk, service):
    response = staff_client.post(reverse("queueing:phone_booking"), form(desk, service, phone=""))
    assert response.status_code == 400 and "phone number" in response.content.decode()
    assert not Appointment.objects.exists()
    bad = staff_client.post(reverse("queueing:phone_booking"), form(desk, service, phone="12"))
    assert bad.status_code == 400


def test_the_desk_manages_it_by_reference(staff_client, desk, service, desk_time):
    staff_client.post(reverse("queueing:phone_booking"), form(desk, service))
    appointment = Appointment.objects.get()
    page = staff_client.get(reverse("desk:appointment", args=[appointment.reference.lower()]))
    assert page.status_code == 200 and "Piet" in page.content.decode()
    staff_client.post(reverse("desk:appointment_cancel", args=[appointment.reference]), {"reason": "caller phoned"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED


def test_the_same_rules_past_times_off_grid_and_the_horizon(staff, desk, service):
    for start in (at(9, 0) - timedelta(days=2), at(10, 7, day=WEDNESDAY), at(10, day=TUESDAY + timedelta(days=90))):
        with pytest.raises(BookingError):
            phone.book_for_caller(
                location=desk, service=service, start=start, names=names(("A", "B")), phone="0612345678",
                now=MONDAY_MORNING, actor=staff,
            )  # fmt: skip
    assert not Appointment.objects.exists()


def test_staff_may_override_the_minimum_notice(staff, desk, service):
    service.minimum_notice_minutes = 24 * 60
    service.save()
    soon = at(10)  # Tuesday 10:00, 26 hours after Monday 08:00: allowed; then one with 2 hours' notice
    kwargs = dict(location=desk, service=service, names=names(("A", "B")), phone="0612345678", actor=staff)
    with pytest.raises(BookingError):
        phone.book_for_caller(start=at(10), now=soon - timedelta(hours=2), enforce_notice=True, **kwargs)
    booked = phone.book_for_caller(start=at(10), now=soon - timedelta(hours=2), **kwargs)
    assert booked.appointment.status == AppointmentStatus.BOOKED


@override_settings(EXPATDESK_FAIR_SHARE_DAY_MINUTES=30, EXPATDESK_FAIR_SHARE_HORIZON_MINUTES=30)
def test_one_caller_cannot_take_more_than_the_fair_share(staff, desk, service):
    kwargs = dict(location=desk, service=service, names=names(("A", "B")), now=MONDAY_MORNING, actor=staff)
    phone.book_for_caller(start=at(10, day=WEDNESDAY), phone="06 1234 5678", **kwargs)
    phone.book_for_caller(start=at(10, 15, day=WEDNESDAY), phone="0612345678", **kwargs)
    with pytest.raises(BookingError) as error:
        phone.book_for_caller(start=at(10, 30, day=WEDNESDAY), phone="06-12345678", **kwargs)
    assert error.value.code == BookingError.FAIR_SHARE_EXCEEDED


def test_anonymised_on_schedule_like_the_rest(staff, desk, service, settings):
    result = phone.book_for_caller(
        location=desk, service=service, start=at(10, day=WEDNESDAY), names=names(("Piet", "Bellen")),
        phone="0612345678", now=MONDAY_MORNING, actor=staff,
    )  # fmt: skip
    later = WEDNESDAY + timedelta(days=settings.EXPATDESK_ANONYMISE_AFTER_DAYS + 1)
    actions.anonymise_past_appointments(now=later)
    appointment = Appointment.objects.get(pk=result.appointment.pk)
    assert appointment.phone == "" and appointment.client_key == ""
    assert not Person.objects.filter(appointment=appointment, first_name="Piet").exists()


def test_the_phone_booking_page_lists_free_times(staff_client, desk, service):
    page = staff_client.get(
        reverse("queueing:phone_booking") + f"?location={desk.pk}&service={service.pk}&day=2026-12-02"
    ).content.decode()
    assert "Free times on" in page and "09:00" in page


# ---- special needs -------------------------------------------------------------------------------


def test_special_needs_are_booked_shown_on_the_agenda_and_the_call_and_anonymised(
    staff_client, desk, service, desk_time, settings
):
    data = form(desk, service, needs_wheelchair="on", interpreter_language="ar")
    response = staff_client.post(reverse("queueing:phone_booking"), data, follow=True)
    appointment = Appointment.objects.get()
    assert (appointment.needs_wheelchair, appointment.interpreter_language) == (True, "ar")
    assert "Interpreter: Arabic" in response.content.decode()
    agenda = staff_client.get(reverse("desk:agenda") + f"?location={desk.pk}&day=2026-12-02").content.decode()
    assert "Wheelchair access" in agenda and "Interpreter: Arabic" in agenda
    # At the call, the counter sees them too.
    desk_time(at(9, 50, day=WEDNESDAY))
    actions.check_in(appointment=appointment, now=at(9, 50, day=WEDNESDAY), actor=None)
    counter = desk.counters.order_by("name").first()
    staff_client.post(reverse("queueing:call_next", args=[counter.pk]))
    page = staff_client.get(reverse("queueing:counter", args=[counter.pk])).content.decode()
    assert "Wheelchair access" in page and "Interpreter: Arabic" in page
    actions.anonymise_past_appointments(now=WEDNESDAY + timedelta(days=settings.EXPATDESK_ANONYMISE_AFTER_DAYS + 1))
    appointment.refresh_from_db()
    assert (appointment.needs_wheelchair, appointment.interpreter_language) == (False, "")


def test_an_interpreter_language_off_the_list_is_refused(staff_client, staff, desk, service):
    response = staff_client.post(reverse("queueing:phone_booking"), form(desk, service, interpreter_language="xx"))
    assert response.status_code == 400
    with pytest.raises(BookingError) as error:
        phone.book_for_caller(
            location=desk, service=service, start=at(10, day=WEDNESDAY), names=names(("A", "B")),
            phone="0612345678", now=MONDAY_MORNING, actor=staff, interpreter_language="klingon",
        )  # fmt: skip
    assert error.value.code == phone.INVALID_NEEDS
    assert not Appointment.objects.exists()


def test_extra_time_on_the_phone_booking_claims_the_extra_units(staff_client, desk, service):
    response = staff_client.post(reverse("queueing:phone_booking"), form(desk, service, extra_time="2"), follow=True)
    appointment = Appointment.objects.get()
    assert appointment.extra_units == 2 and appointment.claimed_units == 3
    assert SlotClaim.objects.filter(appointment=appointment).count() == 3
    assert "Extra time: 45 minutes" not in response.content.decode()  # per person: 2 units of 15 minutes
    assert "Extra time: 30 minutes" in response.content.decode()


def test_the_phone_free_times_take_the_extra_time_into_account(staff_client, desk, service):
    url = reverse("queueing:phone_booking") + f"?location={desk.pk}&service={service.pk}&day=2026-12-02"
    assert "12:15" in staff_client.get(url).content.decode()
    page = staff_client.get(url + "&extra_time=1").content.decode()
    assert "12:00" in page and "12:15" not in page  # the desk closes at 12:30


def test_extra_time_outside_the_choices_is_refused_on_the_phone_form(staff_client, desk, service):
    response = staff_client.post(reverse("queueing:phone_booking"), form(desk, service, extra_time="5"))
    assert response.status_code == 400 and not Appointment.objects.exists()
