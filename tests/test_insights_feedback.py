"""Feedback after the visit (issue 14 part 1): done → one e-mail a while later, in the person's language,
with ten one-click score links; the score recorded once (changeable for a day), a token hashed at rest,
an optional comment anonymised with the appointment."""

import hashlib
import re
from datetime import datetime, timedelta

import pytest
from django.core import mail

from bookings import actions
from bookings.models import Appointment, EmailKind, OutboxEmail, OutboxStatus
from insights.models import COMMENT_MAX_LENGTH, Feedback
from tests.support.desk import book, desk_staff
from tests.support.env import AMSTERDAM
from tests.support.insights import (
    due_time,
    feedback_row,
    make_employer,
    send_due_feedback,
    send_feedback_now,
    serve,
    token_of,
)
from tests.support.urls import reverse

pytestmark = pytest.mark.django_db

TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def served(desk, service, monday_morning):
    appointment = book(desk, service, TUESDAY_9, now=monday_morning)
    return serve(appointment, at=TUESDAY_9)


@pytest.fixture
def token(served):
    return send_feedback_now(served)


def score_url(token: str, score: int | None = None) -> str:
    url = reverse("insights:feedback", kwargs={"token": token})
    return f"{url}?score={score}" if score is not None else url


# ---- the e-mail ------------------------------------------------------------------------------


def test_done_writes_one_feedback_row_due_after_the_delay_and_the_sweep_sends_it_once(
    desk, service, monday_morning, settings
):
    settings.EXPATDESK_FEEDBACK_DELAY_MINUTES = 120
    appointment = serve(book(desk, service, TUESDAY_9, now=monday_morning), at=TUESDAY_9)
    row = feedback_row(appointment)
    assert row.status == OutboxStatus.PENDING
    assert row.next_attempt_at == appointment.done_at + timedelta(minutes=120)

    # Before the delay has passed the sweep leaves it alone.
    assert send_due_feedback(now=appointment.done_at + timedelta(minutes=119)) == []
    [message] = send_due_feedback(now=due_time(appointment))
    assert message.to == ["anna@example.org"]
    assert appointment.reference in message.subject
    assert {kind for _body, kind in message.alternatives} == {"text/html"}
    html = message.alternatives[0][0]
    for score in range(1, 11):
        assert f"?score={score}" in message.body
        assert f"?score={score}" in html
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    # Swept again: nothing more (unique per appointment, and sent).
    assert send_due_feedback(now=due_time(appointment) + timedelta(hours=1)) == []
    assert OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.FEEDBACK).count() == 1


def test_the_feedback_email_is_in_the_language_of_the_booking(desk, service, monday_morning):
    appointment = book(desk, service, TUESDAY_9, now=monday_morning)
    Appointment.objects.filter(pk=appointment.pk).update(language="nl")
    appointment.refresh_from_db()
    serve(appointment, at=TUESDAY_9)
    [message] = send_due_feedback(now=due_time(appointment))
    assert message.subject.startswith("Hoe was uw bezoek")
    assert "Hoe was uw bezoek?" in message.body
    assert message.extra_headers["Content-Language"] == "nl"


def test_no_feedback_for_a_no_show_or_a_cancellation(desk, service, monday_morning):
    no_show = book(desk, service, TUESDAY_9, now=monday_morning)
    actions.mark_no_show(appointment=no_show, now=TUESDAY_9 + timedelta(minutes=20), actor=None)
    cancelled = book(desk, service, TUESDAY_9 + timedelta(hours=1), now=monday_morning)
    actions.cancel_appointment(appointment=cancelled, now=monday_morning, reason="")
    by_desk = book(desk, service, TUESDAY_9 + timedelta(hours=2), now=monday_morning)
    actions.staff_cancel_appointment(appointment=by_desk, reason="ill", now=monday_morning, actor=desk_staff())
    assert not OutboxEmail.objects.filter(kind=EmailKind.FEEDBACK).exists()
    assert send_due_feedback(now=TUESDAY_9 + timedelta(days=1)) == []


def test_an_employers_employee_gets_the_feedback_email_too(desk, service, monday_morning):
    from employers.models import EmployerBooking

    appointment = book(desk, service, TUESDAY_9, now=monday_morning)
    EmployerBooking.objects.create(appointment=appointment, employer=make_employer(), created_at=monday_morning)
    serve(appointment, at=TUESDAY_9)
    [message] = send_due_feedback(now=due_time(appointment))
    assert message.to == ["anna@example.org"]


def test_no_feedback_row_without_an_email_address(desk, service, monday_morning):
    appointment = book(desk, service, TUESDAY_9, now=monday_morning)
    Appointment.objects.filter(pk=appointment.pk).update(contact_email="")
    appointment.refresh_from_db()
    serve(appointment, at=TUESDAY_9)
    assert not OutboxEmail.objects.filter(kind=EmailKind.FEEDBACK).exists()


def test_the_token_is_random_and_only_its_hash_is_stored(served):
    first = send_feedback_now(served)
    row = feedback_row(served)
    assert len(first) == 64
    assert row.manage_token_hash == hashlib.sha256(first.encode()).hexdigest()
    assert first not in str(list(OutboxEmail.objects.values())) + str(list(Appointment.objects.values()))


def test_a_feedback_token_does_not_open_the_manage_page(client, served, token):
    response = client.get(reverse("bookings:manage", kwargs={"token": token}))
    assert response.status_code == 404


# ---- the score -------------------------------------------------------------------------------


def test_get_shows_the_clicked_score_chosen_and_records_nothing(client, token):
    response = client.get(score_url(token, 8))
    assert response.status_code == 200
    content = response.content.decode()
    assert re.search(r'value="8"[^>]*checked', content)
    assert not re.search(r'value="[^8]"[^>]*checked', content)
    assert "Send" in content
    assert not Feedback.objects.exists()


def test_post_records_the_score_once_and_leads_to_the_comment(client, served, token):
    response = client.post(score_url(token), {"score": "9"})
    assert response.status_code == 302
    assert response["Location"] == reverse("insights:feedback_comment", kwargs={"token": token})
    response = client.post(score_url(token), {"score": "9"})
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.appointment_id, feedback.score) == (served.pk, 9)


def test_a_second_click_within_a_day_changes_the_score_and_later_is_refused(client, served, token, monkeypatch):
    client.post(score_url(token), {"score": "6"})
    client.post(score_url(token), {"score": "7"})
    assert Feedback.objects.get().score == 7
    given = Feedback.objects.get().created_at
    later = given + timedelta(hours=25)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    response = client.post(score_url(token), {"score": "3"})
    assert response.status_code == 409
    assert "can no longer be changed" in response.content.decode()
    assert Feedback.objects.get().score == 7
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize("bad", ["0", "11", "x", ""])
def test_a_bad_score_is_a_400_with_a_message(client, token, bad):
    response = client.post(score_url(token), {"score": bad})
    assert response.status_code == 400
    assert "Please choose a score from 1 to 10." in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_bad_score_in_the_link_is_a_400(client, token):
    response = client.get(score_url(token) + "?score=99")
    assert response.status_code == 400
    assert "Please choose a score from 1 to 10." in response.content.decode()


def test_an_altered_link_is_a_404_that_says_so(client, token):
    altered = ("0" if token[0] != "0" else "1") + token[1:]
    for url in (score_url(altered, 5), score_url("not-a-token")):
        response = client.get(url)
        assert response.status_code == 404
        assert "This feedback link is not valid" in response.content.decode()
    assert client.post(score_url(altered), {"score": "5"}).status_code == 404
    assert not Feedback.objects.exists()


def test_an_expired_link_is_a_410_that_says_so(client, served, token, settings):
    row = feedback_row(served)
    OutboxEmail.objects.filter(pk=row.pk).update(
        sent_at=row.sent_at - timedelta(days=settings.EXPATDESK_FEEDBACK_LINK_DAYS, minutes=1)
    )
    response = client.get(score_url(token, 5))
    assert response.status_code == 410
    assert "This feedback link has expired" in response.content.decode()
    assert client.post(score_url(token), {"score": "5"}).status_code == 410


def test_the_score_page_is_in_dutch_for_a_dutch_booking(client, served, token):
    Appointment.objects.filter(pk=served.pk).update(language="nl")
    response = client.get(score_url(token, 5))
    assert "Hoe was uw bezoek?" in response.content.decode()


# ---- the comment and thanks ------------------------------------------------------------------


def test_the_comment_is_optional_limited_and_ends_on_the_thank_you_page(client, token):
    comment_url = reverse("insights:feedback_comment", kwargs={"token": token})
    thanks_url = reverse("insights:feedback_thanks", kwargs={"token": token})
    assert client.get(comment_url)["Location"] == score_url(token)  # a score first
    client.post(score_url(token), {"score": "10"})
    page = client.get(comment_url).content.decode()
    assert "personal details" in page
    response = client.post(comment_url, {"comment": "x" * (COMMENT_MAX_LENGTH + 1)})
    assert response.status_code == 400
    assert f"Please keep your comment to {COMMENT_MAX_LENGTH} characters." in response.content.decode()
    response = client.post(comment_url, {"comment": "  Quick and friendly.  "})
    assert response["Location"] == thanks_url
    assert Feedback.objects.get().comment == "Quick and friendly."
    page = client.get(thanks_url)
    assert page.status_code == 200
    assert "Thank you" in page.content.decode()


def test_the_comment_is_anonymised_with_the_appointment_and_the_score_stays(client, served, token, settings):
    client.post(score_url(token), {"score": "8"})
    client.post(reverse("insights:feedback_comment", kwargs={"token": token}), {"comment": "Helpful staff."})
    later = served.end + timedelta(days=settings.EXPATDESK_ANONYMISE_AFTER_DAYS + 1)
    assert actions.anonymise_past_appointments(now=later) == 1
    feedback = Feedback.objects.get()
    assert (feedback.score, feedback.comment) == (8, "")
    # The link stops working with the rest of the personal data.
    assert client.get(score_url(token, 8)).status_code == 404


def test_erasure_on_request_erases_the_comment_too(client, served, token):
    client.post(score_url(token), {"score": "8"})
    client.post(reverse("insights:feedback_comment", kwargs={"token": token}), {"comment": "Helpful staff."})
    actions.erase_personal_data(email="anna@example.org", now=served.end + timedelta(days=1), actor=None)
    assert Feedback.objects.get().comment == ""


def test_two_feedback_emails_are_never_sent_for_one_visit(served):
    send_feedback_now(served)
    mail.outbox.clear()
    from bookings import tasks

    tasks.send_outbox_email.apply(args=[feedback_row(served).pk])
    assert mail.outbox == []
    assert token_of  # the helper is shared with the integration test


def test_a_data_request_exports_the_score_and_comment(client, served, token):
    client.post(score_url(token), {"score": "8"})
    client.post(reverse("insights:feedback_comment", kwargs={"token": token}), {"comment": "Helpful staff."})
    data = actions.export_personal_data(email="anna@example.org", now=served.end, actor=None)
    [appointment] = data["appointments"]
    assert appointment["feedback"]["score"] == 8
    assert appointment["feedback"]["comment"] == "Helpful staff."
