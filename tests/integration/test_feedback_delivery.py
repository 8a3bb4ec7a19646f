"""Feedback after the visit through the real parts (issue 14): marked done → the outbox row waits for its
delay → the sweep queues it on the real Redis → the real Celery worker sends it to the real SMTP server,
once; its link then records the score. Run with `pytest -m integration` (PostgreSQL and Redis)."""

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from bookings import actions
from bookings.models import EmailKind, OutboxEmail, OutboxStatus
from bookings.tokens import hash_token
from insights.models import Feedback
from tests.support.env import AMSTERDAM
from tests.support.factories import make_desk
from tests.support.insights import FEEDBACK_LINK, serve
from tests.support.integration import assert_ids_only, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EMAIL = "ben.example@example.org"
DELIVERY_TIMEOUT = 15.0


def test_done_delivers_one_feedback_email_after_the_delay_and_its_link_records_the_score(
    worker, mailbox, publish_to_redis, service, monday_morning
):
    desk = make_desk(services=[service])
    start = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)
    appointment = actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[actions.PersonName("Ben", "Example")],
        contact_email=EMAIL,
        language="nl",
        now=monday_morning,
    ).appointment
    wait_for(mailbox.messages, timeout=DELIVERY_TIMEOUT, what="the confirmation over SMTP")

    serve(appointment, at=start)
    row = OutboxEmail.objects.get(appointment=appointment, kind=EmailKind.FEEDBACK)
    worker.wait_idle()
    assert len(mailbox.messages()) == 1  # nothing sent at done: the row waits for its delay

    # Beat's sweep before the delay is over queues nothing; after it, the row.
    actions.requeue_outbox(now=row.next_attempt_at - timedelta(minutes=1))
    due = row.next_attempt_at + timedelta(seconds=settings.EXPATDESK_OUTBOX_REQUEUE_SECONDS + 1)
    actions.requeue_outbox(now=due)
    actions.requeue_outbox(now=due)  # a second sweep (or a redelivered task) sends nothing more

    def feedback_messages():
        return [m for m in mailbox.messages() if "feedback" in m.get_body(preferencelist=("plain",)).get_content()]

    [message] = wait_for(feedback_messages, timeout=DELIVERY_TIMEOUT, what="the feedback e-mail over SMTP")
    worker.wait_idle()
    assert len(feedback_messages()) == 1
    assert message["To"] == EMAIL
    assert message["Content-Language"] == "nl"
    assert message["Subject"].startswith("Hoe was uw bezoek")
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    links = FEEDBACK_LINK.findall(text)
    assert [int(score) for _token, score in links] == list(range(1, 11))
    assert len(re.findall(r"\?score=\d+", html)) == 10
    [token] = {token for token, _score in links}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.manage_token_hash) == (OutboxStatus.SENT, 1, hash_token(token))

    client = Client()
    url = reverse("insights:feedback", kwargs={"token": token})
    assert client.get(f"{url}?score=9").status_code == 200
    assert not Feedback.objects.exists()  # a GET (a link scanner) records nothing
    assert client.post(url, {"score": "9"}).status_code == 302
    assert Feedback.objects.get(appointment=appointment).score == 9
    assert_ids_only(publish_to_redis + worker.published())
