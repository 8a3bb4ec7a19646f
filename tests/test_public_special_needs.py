"""Special needs on the public booking flow (issue 15): wheelchair access, an interpreter language from a fixed list
and extra time, all optional and no free text; extra time asked with the questions (the free times depend on it),
the others with the details; stored on the appointment and shown to the booker on the confirmation; EN and NL."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import emails
from bookings.actions import PersonName
from bookings.models import Appointment, AppointmentStatus, EmailKind, OutboxEmail, SlotClaim
from queueing.phone import book_for_caller
from tests.support.desk import desk_staff
from tests.support.public_flow import (
    confirmed_token,
    details_data,
    first_times_url,
    hold_first_time,
    page,
    starts_on,
)
from tests.support.queue import MONDAY_MORNING, at
from tests.support.urls import reverse


def questions_url(service):
    return reverse("bookings:questions", kwargs={"service_code": service.code})


def test_the_questions_offer_extra_time_in_minutes(client, desk, service):
    content = page(client.get(questions_url(service)))
    assert 'name="extra_time"' in content
    for label in ("No extra time", "15 minutes more per person", "30 minutes more per person"):
        assert label in content
    assert "<textarea" not in content


def test_the_questions_in_dutch(client, desk, service):
    content = page(client.get(questions_url(service), HTTP_ACCEPT_LANGUAGE="nl"))
    assert "Geen extra tijd" in content and "15 minuten extra per persoon" in content


def test_extra_time_offers_longer_times_and_holds_them(client, desk, service):
    answers = {"persons": "1", "extra_time": "2"}
    response = client.post(questions_url(service), answers)
    assert response.status_code == 302 and "extra_time=2" in response["Location"]
    times_url = first_times_url(client, response["Location"])
    assert "extra_time=2" in times_url
    labels = re.findall(r"(\d\d):(\d\d)–(\d\d):(\d\d)", page(client.get(times_url)))
    assert labels
    for h1, m1, h2, m2 in labels:
        assert (int(h2) * 60 + int(m2)) - (int(h1) * 60 + int(m1)) == 45  # 15 minutes and 2 × 15 more
    start = starts_on(client, times_url)[0]
    response = client.post(reverse("bookings:hold", kwargs={"service_code": service.code}), {**answers, "start": start})
    assert response.status_code == 302
    hold = Appointment.objects.get(status=AppointmentStatus.HELD)
    assert hold.extra_units == 2 and hold.claimed_units == SlotClaim.objects.filter(appointment=hold).count() == 3


@pytest.mark.parametrize("bad", ["3", "-1", "lots", "1.5"])
def test_extra_time_outside_the_choices_is_a_clear_400(client, desk, service, bad):
    response = client.post(questions_url(service), {"persons": "1", "extra_time": bad})
    assert response.status_code == 400
    assert "Please choose the extra time from the list." in page(response)


def test_a_forged_extra_time_on_the_hold_is_refused(client, desk, service):
    _hold, times_url = hold_first_time(client, service, 1)
    start = starts_on(client, times_url)[0]
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}),
        {"persons": "1", "extra_time": "7", "start": start},
    )
    assert response.status_code == 302
    assert not Appointment.objects.filter(extra_units=7).exists()


def test_the_details_ask_wheelchair_and_interpreter_and_the_confirmation_shows_the_needs(client, desk, service):
    answers = {"persons": "1", "extra_time": "1"}
    response = client.post(questions_url(service), answers)
    times_url = first_times_url(client, response["Location"])
    start = starts_on(client, times_url)[0]
    client.post(reverse("bookings:hold", kwargs={"service_code": service.code}), {**answers, "start": start})
    form = page(client.get(reverse("bookings:details")))
    assert 'name="needs_wheelchair"' in form and 'name="interpreter_language"' in form
    assert '<option value="ar">Arabic</option>' in form and "<textarea" not in form
    response = client.post(
        reverse("bookings:details"), details_data(1, needs_wheelchair="on", interpreter_language="ar")
    )
    token = confirmed_token(response)
    booked = Appointment.objects.get()
    assert booked.status == AppointmentStatus.BOOKED
    assert (booked.needs_wheelchair, booked.interpreter_language, booked.extra_units) == (True, "ar", 1)
    confirmation = page(client.get(reverse("bookings:manage", kwargs={"token": token})))
    assert "Special needs" in confirmation
    for shown in ("Wheelchair access", "Interpreter: Arabic", "Extra time: 15 minutes"):
        assert shown in confirmation
    # And in the confirmation e-mail, both parts.
    row = OutboxEmail.objects.get(appointment=booked, kind=EmailKind.CONFIRMATION)
    message = emails.build_message(row)
    for part in (message.body, message.alternatives[0][0]):
        assert "Special needs" in part and "Interpreter: Arabic" in part and "Extra time: 15 minutes" in part


def test_without_needs_nothing_is_stored_or_shown(client, desk, service):
    hold_first_time(client, service, 1)
    token = confirmed_token(client.post(reverse("bookings:details"), details_data(1)))
    booked = Appointment.objects.get()
    assert (booked.needs_wheelchair, booked.interpreter_language, booked.extra_units) == (False, "", 0)
    assert "Special needs" not in page(client.get(reverse("bookings:manage", kwargs={"token": token})))


def test_an_interpreter_language_outside_the_list_is_a_clear_400(client, desk, service):
    hold_first_time(client, service, 1)
    response = client.post(reverse("bookings:details"), details_data(1, interpreter_language="klingon"))
    assert response.status_code == 400
    assert "Please choose an interpreter language from the list." in page(response)
    assert Appointment.objects.get().status == AppointmentStatus.HELD


def test_the_details_in_dutch(client, desk, service):
    hold_first_time(client, service, 1)
    form = page(client.get(reverse("bookings:details"), HTTP_ACCEPT_LANGUAGE="nl"))
    assert "rolstoel" in form.lower() and "Geen tolk" in form


def test_a_phone_booking_writes_its_needs_in_the_one_insert(desk, service):
    """No second UPDATE of the appointment after the booking."""
    with CaptureQueriesContext(connection) as queries:
        result = book_for_caller(
            location=desk,
            service=service,
            start=at(10),
            names=[PersonName("Ann", "Caller")],
            now=MONDAY_MORNING,
            actor=desk_staff(),
            phone="+31 43 350 5050",
            needs_wheelchair=True,
            interpreter_language="tr",
        )
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "bookings_appointment"')]
    assert updates == []
    booked = Appointment.objects.get(pk=result.appointment.pk)
    assert (booked.needs_wheelchair, booked.interpreter_language) == (True, "tr")
