"""Managing a booking without an account, and "find my booking", through the Django test client."""

import html
import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import actions, availability
from bookings.actions import PersonName
from bookings.models import Appointment, AppointmentStatus, EmailKind, OutboxEmail, SlotClaim
from bookings.tokens import hash_token

START_BUTTON = re.compile(r'name="start" value="([^"]+)"')


def page(response) -> str:
    return response.content.decode()


def free_starts(desk, service, persons: int = 1) -> list[datetime]:
    now = timezone.now()
    today = now.astimezone(desk.tz).date()
    by_day = availability.free_slots(
        location=desk, service=service, persons=persons, start_date=today, end_date=today + timedelta(days=20), now=now
    )
    return [slot.start for slots in by_day.values() for slot in slots]


@pytest.fixture
def booking(desk, service):
    """A booked appointment for two persons and its manage token."""
    start = free_starts(desk, service, persons=2)[0]
    result = actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[PersonName("Jane", "Doe"), PersonName("John", "Doe")],
        contact_email="jane@example.org",
        now=timezone.now(),
    )
    return result


def manage_url(token: str, name: str = "bookings:manage") -> str:
    return reverse(name, kwargs={"token": token})


def test_manage_page_shows_the_booking(client, booking, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = client.get(manage_url(booking.manage_token))
    assert response.status_code == 200
    content = page(response)
    assert booking.appointment.reference in content
    assert "Jane Doe" in content and "John Doe" in content
    assert manage_url(booking.manage_token, "bookings:cancel") in content
    assert manage_url(booking.manage_token, "bookings:reschedule") in content


def altered(token: str) -> str:
    return token[:-1] + ("0" if token[-1] != "0" else "1")


@pytest.mark.parametrize("url_name", ["bookings:manage", "bookings:cancel", "bookings:reschedule", "bookings:ics"])
def test_wrong_altered_and_cancelled_tokens_answer_404_and_reveal_nothing(client, booking, url_name):
    token = booking.manage_token
    bad_tokens = [altered(token), "0" * 64, token.upper(), token[:-2], "not-a-token", token + "00"]
    for bad in bad_tokens:
        response = client.get(manage_url(bad, url_name))
        assert response.status_code == 404, bad
        assert booking.appointment.reference not in page(response)
        assert "Page not found" in page(response)
    assert client.post(manage_url(altered(token), url_name)).status_code in (404, 405)

    actions.cancel_appointment(appointment=booking.appointment, now=timezone.now())
    response = client.get(manage_url(token, url_name))
    assert response.status_code == 404
    assert booking.appointment.reference not in page(response)

    # The same page as for a token that never existed (apart from the path and the CSRF token).
    def normalised(response, path_token):
        return re.sub(r'value="[^"]{40,}"', "", page(response).replace(path_token, "TOKEN"))

    never = "0" * 64
    assert normalised(response, token) == normalised(client.get(manage_url(never, url_name)), never)


def test_only_the_hash_of_the_token_is_stored(booking):
    appointment = Appointment.objects.get(pk=booking.appointment.pk)
    assert appointment.manage_token_hash == hash_token(booking.manage_token)
    row = Appointment.objects.filter(pk=appointment.pk).values().get()
    assert booking.manage_token not in str(row)  # nor anything it could be derived from (issue 9: no salt)


# ---- cancel -------------------------------------------------------------------------------------


def test_cancel_asks_first_then_cancels_on_post_with_csrf(booking):
    client = Client(enforce_csrf_checks=True)
    url = manage_url(booking.manage_token, "bookings:cancel")
    response = client.get(url)
    assert response.status_code == 200
    assert "Cancel your appointment?" in page(response)
    assert 'method="post"' in page(response)
    booking.appointment.refresh_from_db()
    assert booking.appointment.status == AppointmentStatus.BOOKED  # GET changes nothing

    refused = client.post(url)  # no CSRF token
    assert refused.status_code == 403
    assert "The form has expired" in page(refused)
    booking.appointment.refresh_from_db()
    assert booking.appointment.status == AppointmentStatus.BOOKED

    csrf = client.cookies["csrftoken"].value
    response = client.post(url, {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    assert "Your appointment is cancelled" in page(response)
    booking.appointment.refresh_from_db()
    assert booking.appointment.status == AppointmentStatus.CANCELLED
    assert not SlotClaim.objects.filter(appointment=booking.appointment).exists()
    assert OutboxEmail.objects.filter(appointment=booking.appointment, kind=EmailKind.CANCELLATION).count() == 1
    assert client.get(manage_url(booking.manage_token)).status_code == 404


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_cancel_and_move_refuse_other_methods(client, booking, method):
    for name in ("bookings:cancel", "bookings:reschedule"):
        response = getattr(client, method)(manage_url(booking.manage_token, name))
        assert response.status_code == 405
    booking.appointment.refresh_from_db()
    assert booking.appointment.status == AppointmentStatus.BOOKED


def test_a_past_appointment_cannot_be_cancelled_or_moved_online(client, booking):
    Appointment.objects.filter(pk=booking.appointment.pk).update(
        start=timezone.now() - timedelta(hours=2), end=timezone.now() - timedelta(hours=1)
    )
    for name in ("bookings:cancel", "bookings:reschedule"):
        response = client.post(manage_url(booking.manage_token, name), follow=True)
        assert "can no longer be" in page(response)
    booking.appointment.refresh_from_db()
    assert booking.appointment.status == AppointmentStatus.BOOKED


# ---- move ---------------------------------------------------------------------------------------


def test_move_to_another_free_time(booking, desk, service):
    client = Client(enforce_csrf_checks=True)
    url = manage_url(booking.manage_token, "bookings:reschedule")
    response = client.get(url)
    assert response.status_code == 200
    day_link = re.search(r'href="([^"]*\?day=\d{4}-\d{2}-\d{2})"', page(response))
    assert day_link
    response = client.get(html.unescape(day_link.group(1)))
    assert response.status_code == 200
    starts = [html.unescape(v) for v in START_BUTTON.findall(page(response))]
    assert starts
    old_start = booking.appointment.start
    new_value = next(v for v in reversed(starts) if datetime.fromisoformat(v) != old_start)

    assert client.post(url, {"start": new_value}).status_code == 403  # no CSRF token
    booking.appointment.refresh_from_db()
    assert booking.appointment.start == old_start

    response = client.post(url, {"start": new_value, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302
    assert response["Location"] == manage_url(booking.manage_token)
    booking.appointment.refresh_from_db()
    assert booking.appointment.start == datetime.fromisoformat(new_value)
    assert booking.appointment.status == AppointmentStatus.BOOKED
    assert "has been moved" in page(client.get(response["Location"]))


def test_move_to_a_time_taken_meanwhile_keeps_the_old_booking(client, booking, desk, service):
    old_start, old_end = booking.appointment.start, booking.appointment.end
    target = next(start for start in free_starts(desk, service, persons=3) if start >= old_end)
    actions.book_appointment(
        location=desk,
        service=service,
        start=target,
        names=[PersonName("Other", "Person")] * 3,
        contact_email="other@example.org",
        now=timezone.now(),
    )
    url = manage_url(booking.manage_token, "bookings:reschedule")
    response = client.post(url, {"start": target.isoformat()}, follow=True)
    assert response.status_code == 200
    content = page(response)
    assert "Your appointment was not moved and keeps its old time." in content
    assert "that time has just been taken" in content
    booking.appointment.refresh_from_db()
    assert (booking.appointment.start, booking.appointment.end) == (old_start, old_end)
    assert SlotClaim.objects.filter(appointment=booking.appointment).count() == 2


@pytest.mark.parametrize("start", ["", "garbage", "2030-01-01T09:00:00"])
def test_move_with_a_bad_start_changes_nothing(client, booking, start):
    response = client.post(manage_url(booking.manage_token, "bookings:reschedule"), {"start": start}, follow=True)
    assert response.status_code == 200
    assert 'role="alert"' in page(response)
    before = booking.appointment.start
    booking.appointment.refresh_from_db()
    assert booking.appointment.start == before


@pytest.mark.parametrize(
    "query", ["?day=2026-02-31", "?day=abc", "?month=1999-01", "?month=2026-13", "?day=2020-01-07"]
)
def test_move_page_with_bad_dates_redirects_with_a_message(client, booking, query):
    response = client.get(manage_url(booking.manage_token, "bookings:reschedule") + query, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain
    assert 'role="alert"' in page(response)


# ---- calendar download ---------------------------------------------------------------------------


def test_ics_download(client, booking):
    response = client.get(manage_url(booking.manage_token, "bookings:ics"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert f'filename="{booking.appointment.reference}.ics"' in response["Content-Disposition"]
    body = response.content.decode()
    assert "BEGIN:VCALENDAR" in body
    assert f"UID:{booking.appointment.reference}@expatdesk" in body


# ---- find my booking -------------------------------------------------------------------------------


def manage_link_emails(appointment: Appointment) -> int:
    return OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.MANAGE_LINK).count()


def test_find_my_booking_answers_the_same_whether_or_not_it_exists(client, booking):
    url = reverse("bookings:find")
    assert client.get(url).status_code == 200
    reference = booking.appointment.reference

    answers = []
    for data in (
        {"reference": "XXX-AAAA-BBBB", "email": "jane@example.org"},  # no such booking
        {"reference": reference, "email": "someone@example.org"},  # wrong e-mail
        {"reference": reference.lower().replace("-", " "), "email": "JANE@example.org"},  # the real one, as typed
    ):
        response = client.post(url, data, follow=True)
        assert response.status_code == 200
        answers.append(re.sub(r'value="[^"]{40,}"', "", page(response)))  # ignore the CSRF token
    assert answers[0] == answers[1] == answers[2]
    assert "If a booking with this reference and e-mail address exists" in answers[0]
    assert manage_link_emails(booking.appointment) == 1


def test_find_my_booking_sends_nothing_for_a_cancelled_booking(client, booking):
    actions.cancel_appointment(appointment=booking.appointment, now=timezone.now())
    client.post(reverse("bookings:find"), {"reference": booking.appointment.reference, "email": "jane@example.org"})
    assert manage_link_emails(booking.appointment) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reference": "", "email": "jane@example.org"}, "Please enter your booking reference."),
        ({"reference": "MAA-AAAA-BBBB", "email": "nope"}, "Enter an e-mail address like name@example.com."),
    ],
)
def test_find_my_booking_bad_input(client, booking, data, message):
    response = client.post(reverse("bookings:find"), data)
    assert response.status_code == 400
    assert message in page(response)
    assert manage_link_emails(booking.appointment) == 0


def test_manage_pages_render_in_dutch(client, booking):
    client.post("/i18n/setlang/", {"language": "nl", "next": "/"})
    for name in ("bookings:manage", "bookings:cancel", "bookings:reschedule"):
        content = page(client.get(manage_url(booking.manage_token, name)))
        assert '<html lang="nl">' in content
    # Dates use Dutch month names (Django's own catalogue).
    local = booking.appointment.start.astimezone(booking.appointment.location.tz)
    dutch_months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
                    "oktober", "november", "december"]  # fmt: skip
    assert f"{local.day} {dutch_months[local.month - 1]} {local.year}" in page(
        client.get(manage_url(booking.manage_token))
    )
