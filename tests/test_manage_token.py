"""The manage link's token (issue 9, DESIGN.md §6): random 256 bits, only its hash is stored, nowhere else —
sessions included. After booking, the person is sent to the manage page itself, which says "you're booked"
once; the token is only in that address (and in the e-mails, each with a token of its own)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client

from bookings import actions, selectors
from bookings.models import Appointment, EmailKind, OutboxEmail
from bookings.tokens import hash_token, new_manage_token
from tests.support.public_flow import confirmed_token, details_data, hold_first_time
from tests.support.urls import reverse

HEX64 = re.compile(r"[0-9a-f]{64}")


def strings_in(value) -> list[str]:
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (*strings_in(key), *strings_in(item))]
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings_in(item)]
    return [value] if isinstance(value, str) else [str(value)]


def book_on_the_web(client, service) -> tuple[Appointment, str]:
    hold_first_time(client, service, persons=1)
    token = confirmed_token(client.post(reverse("bookings:details"), details_data(1)))
    return Appointment.objects.get(status="booked"), token


def test_after_booking_no_session_holds_anything_that_opens_the_booking(client, desk, service):
    appointment, token = book_on_the_web(client, service)
    client.get(reverse("bookings:manage", kwargs={"token": token}))  # the confirmation, read
    sessions = list(Session.objects.all())
    assert sessions
    for session in sessions:
        decoded = SessionStore().decode(session.session_data)
        for text in strings_in(decoded):
            assert token not in text
            assert appointment.manage_token_hash not in text
            for candidate in HEX64.findall(text):
                assert selectors.appointment_for_token(token=candidate) is None


def test_the_manage_page_says_youre_booked_on_the_first_visit_only(client, desk, service):
    appointment, token = book_on_the_web(client, service)
    url = reverse("bookings:manage", kwargs={"token": token})
    first = client.get(url).content.decode()
    assert "Your appointment is booked" in first
    assert appointment.reference in first and f'href="{url}"' in first  # the link to keep is this page's
    again = client.get(url).content.decode()
    assert "Your appointment is booked" not in again
    assert appointment.reference in again and "Move to another time" in again


def test_the_manage_link_opened_in_another_browser_is_just_the_manage_page(client, desk, service):
    _appointment, token = book_on_the_web(client, service)
    content = Client().get(reverse("bookings:manage", kwargs={"token": token})).content.decode()
    assert "Your appointment is booked" not in content and "Move to another time" in content


def test_pages_with_the_token_in_their_address_never_send_it_as_referrer(client, desk, service):
    _appointment, token = book_on_the_web(client, service)
    for name in ("bookings:manage", "bookings:cancel", "bookings:reschedule", "bookings:ics"):
        response = client.get(reverse(name, kwargs={"token": token}))
        assert response.status_code == 200, name
        assert response["Referrer-Policy"] == "strict-origin", name  # the origin only, never the path
    assert client.get(reverse("bookings:start")).get("Referrer-Policy") != "strict-origin"


def test_tokens_are_random_and_only_their_hash_is_kept(desk, service, monday_morning):
    tokens = {new_manage_token() for _ in range(100)}
    assert len(tokens) == 100 and all(HEX64.fullmatch(token) for token in tokens)
    result = actions.book_appointment(
        location=desk,
        service=service,
        start=monday_morning.replace(day=1, month=12, hour=9),
        names=[actions.PersonName("Ann", "Example")],
        contact_email="ann@example.org",
        now=monday_morning,
    )
    row = Appointment.objects.filter(pk=result.appointment.pk).values().get()
    assert row["manage_token_hash"] == hash_token(result.manage_token)
    assert "manage_token_salt" not in row  # nothing to derive the token from, with or without the secret key


def test_each_email_carries_its_own_token_which_anonymisation_erases(desk, service, monday_morning, settings):
    result = actions.book_appointment(
        location=desk,
        service=service,
        start=monday_morning.replace(day=1, month=12, hour=9),
        names=[actions.PersonName("Ann", "Example")],
        contact_email="ann@example.org",
        now=monday_morning,
    )
    row = OutboxEmail.objects.get(appointment=result.appointment, kind=EmailKind.CONFIRMATION)
    claimed = actions.claim_outbox_email(email_id=row.pk, now=monday_morning)
    email_token = actions.issue_email_manage_token(email=claimed)
    assert email_token and email_token != result.manage_token
    assert OutboxEmail.objects.get(pk=row.pk).manage_token_hash == hash_token(email_token)
    assert selectors.appointment_for_token(token=email_token) == result.appointment
    assert selectors.appointment_for_token(token=result.manage_token) == result.appointment
    settings.EXPATDESK_ANONYMISE_AFTER_DAYS = 1
    actions.anonymise_past_appointments(now=result.appointment.end + timedelta(days=2))
    assert OutboxEmail.objects.get(pk=row.pk).manage_token_hash == ""
    assert Appointment.objects.get(pk=result.appointment.pk).manage_token_hash == ""
