"""Managing a booking without an account, and "find my booking", through the Django test client."""

import html
import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from bookings import actions, availability
from bookings.actions import PersonName
from bookings.models import Appointment, AppointmentStatus, EmailKind, LinkRequest, OutboxEmail, SlotClaim
from bookings.tokens import hash_token
from tests.support.factories import ServiceFactory, offer
from tests.support.urls import reverse

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
def test_wrong_and_altered_tokens_answer_404_and_reveal_nothing(client, booking, url_name):
    token = booking.manage_token
    bad_tokens = [altered(token), "0" * 64, token.upper(), token[:-2], "not-a-token", token + "00"]
    for bad in bad_tokens:
        response = client.get(manage_url(bad, url_name))
        assert response.status_code == 404, bad
        assert booking.appointment.reference not in page(response)
        assert "Page not found" in page(response)
    assert client.post(manage_url(altered(token), url_name)).status_code in (404, 405)


# Changed by issue 11: a cancelled booking's link used to answer the same 404 as a wrong one; now its
# manage pages say it was cancelled, with a way to book again (its calendar file is gone: still a 404).
@pytest.mark.parametrize("url_name", ["bookings:manage", "bookings:cancel", "bookings:reschedule"])
def test_a_cancelled_booking_link_says_it_was_cancelled_with_a_way_to_book_again(client, booking, url_name):
    actions.cancel_appointment(appointment=booking.appointment, now=timezone.now())
    response = client.get(manage_url(booking.manage_token, url_name))
    assert response.status_code == 200
    content = page(response)
    assert "This appointment was cancelled" in content
    assert booking.appointment.reference in content
    assert reverse("bookings:questions", kwargs={"service_code": booking.appointment.service.code}) in content
    assert f'href="{manage_url(booking.manage_token, "bookings:cancel")}"' not in content
    assert "no-store" in response["Cache-Control"]
    # A POST changes nothing and lands on the same page.
    response = client.post(manage_url(booking.manage_token, url_name), {"start": "2030-01-01T09:00:00+01:00"})
    if url_name == "bookings:manage":
        assert response.status_code == 405
    else:
        assert response.status_code == 302
        assert response["Location"] == manage_url(booking.manage_token)
    booking.appointment.refresh_from_db()
    assert booking.appointment.status == AppointmentStatus.CANCELLED


def test_a_cancelled_booking_has_no_calendar_file(client, booking):
    actions.cancel_appointment(appointment=booking.appointment, now=timezone.now())
    token = booking.manage_token
    response = client.get(manage_url(token, "bookings:ics"))
    assert response.status_code == 404

    # The same page as for a token that never existed (apart from the path and the CSRF token).
    def normalised(response, path_token):
        return re.sub(r'value="[^"]{40,}"', "", page(response).replace(path_token, "TOKEN"))

    never = "0" * 64
    assert normalised(response, token) == normalised(client.get(manage_url(never, "bookings:ics")), never)


def test_an_erased_booking_link_opens_nothing(client, booking):
    actions.cancel_appointment(appointment=booking.appointment, now=timezone.now())
    Appointment.objects.filter(pk=booking.appointment.pk).update(manage_token_hash="")
    assert client.get(manage_url(booking.manage_token)).status_code == 404


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
    assert "This appointment was cancelled" in page(client.get(manage_url(booking.manage_token)))


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


# Changed by issue 11: choosing a time used to move the booking at once; now a confirmation page asks
# "Move to …?" first, and only its POST (with confirm=yes) lets go of the old time.
def test_move_to_another_free_time_asks_for_confirmation_first(booking, desk, service):
    client = Client(enforce_csrf_checks=True)
    url = manage_url(booking.manage_token, "bookings:reschedule")
    response = client.get(url)
    assert response.status_code == 200
    day_link = re.search(r'href="([^"]*\?day=\d{4}-\d{2}-\d{2})"', page(response))
    assert day_link
    response = client.get(html.unescape(day_link.group(1)))
    assert response.status_code == 200
    content = page(response)
    assert f'<form method="get" action="{url}">' in content  # choosing a time changes nothing
    starts = [html.unescape(v) for v in START_BUTTON.findall(content)]
    assert starts
    old_start = booking.appointment.start
    new_value = next(v for v in reversed(starts) if datetime.fromisoformat(v) != old_start)
    new_start = datetime.fromisoformat(new_value)

    # The time's button leads to the question, in words, with the old time still held.
    response = client.get(url, {"start": new_value})
    assert response.status_code == 200
    content = page(response)
    local = new_start.astimezone(desk.tz)
    assert f"Move to {local:%A} {local.day} {local:%B} at {local:%H:%M}?" in content
    assert 'name="confirm" value="yes"' in content
    assert "No, choose another time" in content
    booking.appointment.refresh_from_db()
    assert booking.appointment.start == old_start

    assert client.post(url, {"start": new_value, "confirm": "yes"}).status_code == 403  # no CSRF token
    csrf = client.cookies["csrftoken"].value
    # Without the confirmation a POST only asks.
    response = client.post(url, {"start": new_value, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    assert "?start=" in response["Location"]
    booking.appointment.refresh_from_db()
    assert booking.appointment.start == old_start

    response = client.post(url, {"start": new_value, "confirm": "yes", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    assert response["Location"] == manage_url(booking.manage_token)
    booking.appointment.refresh_from_db()
    assert booking.appointment.start == new_start
    assert booking.appointment.status == AppointmentStatus.BOOKED
    assert "has been moved" in page(client.get(response["Location"]))


def test_the_move_confirmation_refuses_a_time_that_is_not_free(client, booking, desk, service):
    target = next(start for start in free_starts(desk, service, persons=3) if start >= booking.appointment.end)
    actions.book_appointment(
        location=desk,
        service=service,
        start=target,
        names=[PersonName("Other", "Person")] * 3,
        contact_email="other@example.org",
        now=timezone.now(),
    )
    url = manage_url(booking.manage_token, "bookings:reschedule")
    response = client.get(url, {"start": target.isoformat()}, follow=True)
    assert "That time is no longer free" in page(response)
    assert 'name="confirm"' not in page(response)


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
    response = client.post(url, {"start": target.isoformat(), "confirm": "yes"}, follow=True)
    assert response.status_code == 200
    content = page(response)
    assert "Your appointment was not moved and keeps its old time." in content
    assert "that time has just been taken" in content
    booking.appointment.refresh_from_db()
    assert (booking.appointment.start, booking.appointment.end) == (old_start, old_end)
    assert SlotClaim.objects.filter(appointment=booking.appointment).count() == 2


@pytest.mark.parametrize("start", ["", "garbage", "2030-01-01T09:00:00"])
def test_move_with_a_bad_start_changes_nothing(client, booking, start):
    url = manage_url(booking.manage_token, "bookings:reschedule")
    response = client.post(url, {"start": start, "confirm": "yes"}, follow=True)
    assert response.status_code == 200
    assert 'role="alert"' in page(response)
    before = booking.appointment.start
    booking.appointment.refresh_from_db()
    assert booking.appointment.start == before


@pytest.mark.parametrize(
    "query",
    ["?day=2026-02-31", "?day=abc", "?month=1999-01", "?month=2026-13", "?day=2020-01-07", "?start=garbage"],
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


def find(client, data: dict, capture) -> object:
    """POST "find my booking" and run what the commit queues (the worker's answer) as a worker would."""
    with capture(execute=True):
        return client.post(reverse("bookings:find"), data, follow=True)


# Changed by issue 11: the reference is optional and the worker answers (the page queues the request), so
# the answer no longer speaks of "this reference"; the e-mail it sends is checked as before.
def test_find_my_booking_answers_the_same_whether_or_not_it_exists(client, booking, django_capture_on_commit_callbacks):
    assert client.get(reverse("bookings:find")).status_code == 200
    reference = booking.appointment.reference

    answers = []
    for data in (
        {"reference": "XXX-AAAA-BBBB", "email": "nobody@example.org"},  # no such booking
        {"reference": reference, "email": "someone@example.org"},  # wrong e-mail
        {"reference": "", "email": "nobody@example.org"},  # an address without bookings
        {"reference": reference.lower().replace("-", " "), "email": "JANE@example.org"},  # the real one, as typed
    ):
        response = find(client, data, django_capture_on_commit_callbacks)
        assert response.status_code == 200
        answers.append(re.sub(r'value="[^"]{40,}"', "", page(response)))  # ignore the CSRF token
    assert len(set(answers)) == 1
    assert "If there are bookings with this e-mail address, we are sending the links" in answers[0]
    assert manage_link_emails(booking.appointment) == 1
    assert not LinkRequest.objects.exists()  # answered: the addresses typed are not kept


def test_find_my_booking_with_the_e_mail_address_alone_sends_one_e_mail_with_every_live_booking(
    client, booking, desk, django_capture_on_commit_callbacks, mailoutbox
):
    other_service = ServiceFactory()
    for counter in desk.counters.all():
        counter.services.add(other_service)
        offer(counter.location, [other_service])
    second = actions.book_appointment(
        location=desk,
        service=other_service,
        start=free_starts(desk, other_service)[-1],
        names=[PersonName("Jane", "Doe")],
        contact_email="Jane@Example.org",
        now=timezone.now(),
    )
    cancelled = actions.book_appointment(
        location=desk,
        service=other_service,
        start=free_starts(desk, other_service)[-1],
        names=[PersonName("Jane", "Doe")],
        contact_email="jane@example.org",
        now=timezone.now(),
    )
    actions.cancel_appointment(appointment=cancelled.appointment, now=timezone.now())
    mailoutbox.clear()

    find(client, {"reference": "", "email": " JANE@example.org "}, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["jane@example.org"]
    links = set(re.findall(r"https?://\S+/manage/[0-9a-f]{64}/", message.body))
    # Each link carries a token of its own, issued for this e-mail (only its hash is stored), that opens
    # its booking and nothing else.
    assert len(links) == 2
    opened = set()
    for link in links:
        content = page(client.get(link.removeprefix(settings.EXPATDESK_SITE_URL.rstrip("/"))))
        opened |= {
            reference
            for reference in (booking.appointment.reference, second.appointment.reference)
            if reference in content
        }
    assert opened == {booking.appointment.reference, second.appointment.reference}
    assert cancelled.appointment.reference not in message.body

    # Asked again at once: rate limited per address (one e-mail every few minutes), the same answer.
    response = find(client, {"reference": "", "email": "jane@example.org"}, django_capture_on_commit_callbacks)
    assert "If there are bookings with this e-mail address" in page(response)
    assert len(mailoutbox) == 1


def test_find_my_booking_does_the_same_work_whether_or_not_the_address_has_bookings(
    client, booking, django_capture_on_commit_callbacks
):
    """No enumeration by timing: the page runs the same queries and queues the same one task either way;
    the look-up happens in the worker."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def request(email: str) -> tuple[list[str], int]:
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            CaptureQueriesContext(connection) as queries,
        ):
            response = client.post(reverse("bookings:find"), {"reference": "", "email": email})
        assert response.status_code == 302
        # Literals and savepoint names aside, the same statements.
        shapes = [re.sub(r"'[^']*'|\"s\d+_x\d+\"|\b\d+\b", "?", query["sql"]) for query in queries.captured_queries]
        return shapes, len(callbacks)

    known = request("jane@example.org")
    unknown = request("nobody-at-all@example.org")
    assert known == unknown
    assert known[1] == 1
    assert not OutboxEmail.objects.filter(kind=EmailKind.MANAGE_LINK).exists()  # nothing decided yet
    assert LinkRequest.objects.count() == 2


def test_find_my_booking_sends_nothing_for_a_cancelled_booking(client, booking, django_capture_on_commit_callbacks):
    actions.cancel_appointment(appointment=booking.appointment, now=timezone.now())
    data = {"reference": booking.appointment.reference, "email": "jane@example.org"}
    find(client, data, django_capture_on_commit_callbacks)
    assert manage_link_emails(booking.appointment) == 0


def test_a_lost_find_request_is_answered_by_the_sweep_and_an_old_one_deleted(booking, monkeypatch):
    now = timezone.now()
    lost = LinkRequest.objects.create(email="jane@example.org", created_at=now - timedelta(minutes=2))
    LinkRequest.objects.create(email="jane@example.org", created_at=now - timedelta(hours=2))
    queued = []
    monkeypatch.setattr("bookings.tasks.answer_link_request_task.delay", queued.append)
    assert actions.requeue_link_requests(now=now) == 1
    assert queued == [lost.pk]
    assert list(LinkRequest.objects.values_list("pk", flat=True)) == [lost.pk]
    assert actions.answer_link_request(request_id=lost.pk, now=now) is not None
    assert actions.answer_link_request(request_id=lost.pk, now=now) is None  # a task run twice sends once
    assert manage_link_emails(booking.appointment) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reference": "MAA-AAAA-BBBB", "email": ""}, "Please enter your e-mail address."),
        ({"reference": "MAA-AAAA-BBBB", "email": "nope"}, "Enter an e-mail address like name@example.com."),
    ],
)
def test_find_my_booking_bad_input(client, booking, data, message):
    response = client.post(reverse("bookings:find"), data)
    assert response.status_code == 400
    assert message in page(response)
    assert not LinkRequest.objects.exists()
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
