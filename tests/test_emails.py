"""The e-mail outbox: rows written by the actions, sent once by the task, rendered in the booking's language."""

import smtplib
from datetime import datetime, timedelta
from email.mime.base import MIMEBase

import pytest
from django.core import mail
from icalendar import Calendar

from bookings import actions, emails, selectors, tasks
from bookings.models import EmailKind, OutboxEmail, OutboxStatus
from bookings.tokens import hash_token
from tests.support.env import AMSTERDAM

pytestmark = pytest.mark.django_db

TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)


def book(desk, service, now, *, start=TUESDAY_9, email="ann@example.org", language="en", names=None):
    names = names or [actions.PersonName("Ann", "Example")]
    return actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=names,
        contact_email=email,
        language=language,
        now=now,
    ).appointment


def only_row(appointment, kind):
    rows = list(OutboxEmail.objects.filter(appointment=appointment))
    assert [(r.kind, r.status) for r in rows if r.kind == kind] == [(kind, OutboxStatus.PENDING)]
    return next(r for r in rows if r.kind == kind)


def calendar_part(message) -> MIMEBase | None:
    parts = [a for a in message.attachments if isinstance(a, MIMEBase) and a.get_content_type() == "text/calendar"]
    assert len(parts) <= 1
    return parts[0] if parts else None


# ---- rows written by the actions ------------------------------------------------------------


def test_confirm_hold_writes_one_confirmation_and_queues_its_id_after_commit(
    desk, service, monday_morning, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(tasks.send_outbox_email, "delay", lambda *args, **kwargs: queued.append((args, kwargs)))
    held = actions.hold_slot(location=desk, service=service, start=TUESDAY_9, persons=2, now=monday_morning)
    assert not OutboxEmail.objects.exists()
    with django_capture_on_commit_callbacks() as callbacks:
        actions.confirm_hold(
            appointment=held,
            names=[actions.PersonName("Ann", "Example"), actions.PersonName("Bob", "Example")],
            contact_email="ann@example.org",
            language="nl",
            now=monday_morning,
        )
    row = only_row(held, EmailKind.CONFIRMATION)
    assert OutboxEmail.objects.count() == 1
    assert queued == []  # nothing is queued before the commit
    for callback in callbacks:  # the commit (the e-mail's, and the cached answers' bump)
        callback()
    assert queued == [((row.pk,), {})]


def test_book_appointment_with_email_sends_one_confirmation(
    desk, service, monday_morning, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(desk, service, monday_morning)
    row = OutboxEmail.objects.get(appointment=appointment)
    assert (row.kind, row.status, row.attempts, row.revision) == (EmailKind.CONFIRMATION, OutboxStatus.SENT, 1, 0)
    assert row.sent_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@example.org"]


def test_book_appointment_without_email_writes_nothing(
    desk, service, monday_morning, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(tasks.send_outbox_email, "delay", lambda *args, **kwargs: queued.append((args, kwargs)))
    with django_capture_on_commit_callbacks(execute=True):
        book(desk, service, monday_morning, email="")
    assert not OutboxEmail.objects.exists()
    assert queued == []


def test_cancel_of_a_booking_writes_one_cancellation_but_a_hold_none(desk, service, monday_morning):
    appointment = book(desk, service, monday_morning)
    actions.cancel_appointment(appointment=appointment, now=monday_morning)
    only_row(appointment, EmailKind.CANCELLATION)
    assert OutboxEmail.objects.filter(appointment=appointment).count() == 2  # confirmation + cancellation

    held = actions.hold_slot(
        location=desk, service=service, start=TUESDAY_9 + timedelta(hours=1), persons=1, now=monday_morning
    )
    actions.cancel_appointment(appointment=held, now=monday_morning)
    assert not OutboxEmail.objects.filter(appointment=held).exists()


def test_each_reschedule_writes_one_notice_per_revision(desk, service, monday_morning):
    appointment = book(desk, service, monday_morning)
    actions.reschedule_appointment(
        appointment=appointment, new_start=TUESDAY_9 + timedelta(hours=1), now=monday_morning
    )
    moved = actions.reschedule_appointment(
        appointment=appointment, new_start=TUESDAY_9 + timedelta(hours=2), now=monday_morning
    )
    notices = OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.RESCHEDULE).order_by("revision")
    assert [n.revision for n in notices] == [1, 2]
    assert moved.sequence == 2


def test_resend_manage_link_is_a_new_revision_at_most_every_few_minutes(desk, service, monday_morning):
    appointment = book(desk, service, monday_morning)
    first = actions.resend_manage_link(appointment=appointment, now=monday_morning)
    assert (first.kind, first.revision) == (EmailKind.MANAGE_LINK, 1)
    assert actions.resend_manage_link(appointment=appointment, now=monday_morning + timedelta(minutes=1)) is None
    second = actions.resend_manage_link(appointment=appointment, now=monday_morning + timedelta(minutes=6))
    assert second.revision == 2
    actions.cancel_appointment(appointment=appointment, now=monday_morning + timedelta(minutes=7))
    assert actions.resend_manage_link(appointment=appointment, now=monday_morning + timedelta(minutes=20)) is None
    assert OutboxEmail.objects.filter(kind=EmailKind.MANAGE_LINK).count() == 2


def test_reminder_scan_writes_one_reminder_however_often_it_runs(desk, service, monday_morning, settings):
    settings.EXPATDESK_REMINDER_HOURS = 24
    due = book(desk, service, monday_morning - timedelta(days=3))
    later = book(desk, service, monday_morning - timedelta(days=3), start=datetime(2026, 12, 2, 9, 0, tzinfo=AMSTERDAM))
    no_email = book(desk, service, monday_morning - timedelta(days=3), start=TUESDAY_9 + timedelta(hours=1), email="")
    cancelled = book(desk, service, monday_morning - timedelta(days=3), start=TUESDAY_9 + timedelta(hours=2))
    actions.cancel_appointment(appointment=cancelled, now=monday_morning)
    # Booked inside the window (at 13:00 for 12:00 the next day): the confirmation has just said it all.
    late = book(desk, service, monday_morning + timedelta(hours=5), start=TUESDAY_9 + timedelta(hours=3))

    scan_time = datetime(2026, 11, 30, 14, 0, tzinfo=AMSTERDAM)  # 19 hours before `due`
    assert actions.queue_due_reminders(now=scan_time) == 1
    assert actions.queue_due_reminders(now=scan_time + timedelta(minutes=5)) == 0
    reminders = OutboxEmail.objects.filter(kind=EmailKind.REMINDER)
    assert [r.appointment_id for r in reminders] == [due.pk]
    assert not {later.pk, no_email.pk, cancelled.pk, late.pk} & {r.appointment_id for r in reminders}


def test_reminder_window_follows_the_setting(desk, service, monday_morning, settings):
    appointment = book(desk, service, monday_morning - timedelta(days=3))
    settings.EXPATDESK_REMINDER_HOURS = 2
    assert actions.queue_due_reminders(now=monday_morning) == 0  # 25 hours ahead
    assert actions.queue_due_reminders(now=TUESDAY_9 - timedelta(hours=1)) == 1
    only_row(appointment, EmailKind.REMINDER)


# ---- rendering ------------------------------------------------------------------------------


def render(appointment, kind, revision=0):
    """The message as the send task builds it: the row claimed, and a manage token issued for its link."""
    row = OutboxEmail.objects.get_or_create(
        appointment=appointment, kind=kind, revision=revision, defaults={"created_at": appointment.created_at}
    )[0]
    claimed = actions.claim_outbox_email(email_id=row.pk, now=appointment.created_at)
    return emails.build_message(claimed, manage_token=actions.issue_email_manage_token(email=claimed))


def test_confirmation_in_english_has_both_parts_the_details_and_a_calendar_file(
    desk, service, monday_morning, settings
):
    settings.EXPATDESK_SITE_URL = "https://book.example.org"
    service.what_to_bring_en = "Your passport."
    service.save(update_fields=["what_to_bring_en"])
    appointment = book(desk, service, monday_morning, names=[actions.PersonName("Ann", "Example")] * 1)
    message = render(appointment, EmailKind.CONFIRMATION)
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html
    for part in (message.body, html):
        assert appointment.reference in part
        assert service.name_en in part
        assert "Tuesday 1 December 2026" in part
        assert "09:00" in part and "09:15" in part
        assert desk.street in part and desk.postcode in part
        assert "Your passport." in part
        assert "Ann Example" in part
    assert "<" not in message.body
    assert appointment.reference in message.subject
    link = [word for word in message.body.split() if "/manage/" in word]
    assert len(link) == 1
    assert link[0].startswith(f"https://book.example.org/{desk.slug}/manage/")
    token = link[0].rstrip("/").rsplit("/", 1)[1]
    # The e-mail's own random token (issue 9: nothing stored opens a booking): only its hash is on the row,
    # and it opens the booking as the booking's own token does.
    row = OutboxEmail.objects.get(appointment=appointment, kind=EmailKind.CONFIRMATION)
    assert hash_token(token) == row.manage_token_hash != appointment.manage_token_hash
    assert selectors.appointment_for_token(token=token) == appointment
    ics = calendar_part(message)
    assert ics.get_param("method") == "REQUEST"
    assert Calendar.from_ical(ics.get_payload(decode=True))["METHOD"] == "REQUEST"


def test_manage_link_is_absolute_on_the_site_url(desk, service, monday_morning, settings):
    settings.EXPATDESK_SITE_URL = "https://afspraak.example.nl/"
    url = emails.manage_url("0" * 64, location=desk)
    assert url.startswith(f"https://afspraak.example.nl/{desk.slug}/manage/")
    assert "//manage" not in url


def test_confirmation_in_dutch_is_rendered_under_the_booking_language(desk, service, monday_morning):
    appointment = book(desk, service, monday_morning, language="nl")
    message = render(appointment, EmailKind.CONFIRMATION)
    html = message.alternatives[0][0]
    assert '<html lang="nl">' in html
    assert message.extra_headers["Content-Language"] == "nl"
    for part in (message.body, html):
        assert service.name_nl in part
        assert service.name_en not in part
        assert "dinsdag 1 december 2026" in part  # Django's own Dutch day and month names


def test_cancellation_carries_method_cancel_and_no_manage_link(desk, service, monday_morning):
    appointment = book(desk, service, monday_morning)
    appointment = actions.cancel_appointment(appointment=appointment, now=monday_morning)
    message = render(appointment, EmailKind.CANCELLATION)
    assert "/manage/" not in message.body
    ics = calendar_part(message)
    assert ics.get_param("method") == "CANCEL"
    parsed = Calendar.from_ical(ics.get_payload(decode=True))
    assert parsed["METHOD"] == "CANCEL"
    assert parsed.walk("VEVENT")[0]["STATUS"] == "CANCELLED"


@pytest.mark.parametrize("kind", [EmailKind.REMINDER, EmailKind.RESCHEDULE])
def test_reminder_and_reschedule_update_the_calendar_entry(desk, service, monday_morning, kind):
    appointment = book(desk, service, monday_morning)
    message = render(appointment, kind)
    assert calendar_part(message).get_param("method") == "REQUEST"
    assert "/manage/" in message.body


def test_manage_link_mail_has_no_attachment(desk, service, monday_morning):
    appointment = book(desk, service, monday_morning)
    message = render(appointment, EmailKind.MANAGE_LINK, revision=1)
    assert calendar_part(message) is None
    assert "/manage/" in message.body


def test_names_with_markup_are_escaped_in_the_html(desk, service, monday_morning):
    appointment = book(
        desk, service, monday_morning, names=[actions.PersonName("<script>alert(1)</script>", "O'Brien & <b>Co</b>")]
    )
    html = render(appointment, EmailKind.CONFIRMATION).alternatives[0][0]
    assert "<script>" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "O&#x27;Brien &amp; &lt;b&gt;Co&lt;/b&gt;" in html


# ---- the send task --------------------------------------------------------------------------


def pending_confirmation(desk, service, now):
    appointment = book(desk, service, now)
    return OutboxEmail.objects.get(appointment=appointment, kind=EmailKind.CONFIRMATION)


def test_a_row_is_sent_once_however_often_its_task_runs(desk, service, monday_morning):
    row = pending_confirmation(desk, service, monday_morning)
    assert tasks.send_outbox_email.apply(args=[row.pk]).get() == "sent"
    assert tasks.send_outbox_email.apply(args=[row.pk]).get() == "not claimed"
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)


def test_claim_is_one_update_that_only_one_caller_wins(desk, service, monday_morning):
    row = pending_confirmation(desk, service, monday_morning)
    first = actions.claim_outbox_email(email_id=row.pk, now=monday_morning)
    assert first is not None and first.status == OutboxStatus.SENDING
    assert actions.claim_outbox_email(email_id=row.pk, now=monday_morning + timedelta(minutes=9)) is None
    # A claim left by a worker that died is taken over after a while; the old claimer can no longer record.
    second = actions.claim_outbox_email(email_id=row.pk, now=monday_morning + timedelta(minutes=11))
    assert second is not None and second.attempts == 2
    assert not actions.finish_outbox_email(email=first, status=OutboxStatus.SENT, now=monday_morning)
    assert actions.finish_outbox_email(email=second, status=OutboxStatus.SENT, now=monday_morning)


def test_an_smtp_error_is_retried_and_the_message_sent_once(desk, service, monday_morning, monkeypatch):
    row = pending_confirmation(desk, service, monday_morning)
    real_send = emails.send_outbox_email
    calls = []

    def flaky_send(email, **kwargs):
        calls.append(email.status)
        if len(calls) == 1:
            raise smtplib.SMTPDataError(451, b"try again later, ann@example.org")
        real_send(email, **kwargs)

    monkeypatch.setattr(emails, "send_outbox_email", flaky_send)
    tasks.send_outbox_email.apply(args=[row.pk])
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert calls == [OutboxStatus.SENDING, OutboxStatus.SENDING]
    assert len(mail.outbox) == 1


def test_a_row_that_keeps_failing_ends_failed_without_personal_data(
    desk, service, monday_morning, monkeypatch, settings
):
    settings.EXPATDESK_EMAIL_MAX_RETRIES = 2
    row = pending_confirmation(desk, service, monday_morning)

    def refused(email, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"ann@example.org": (550, b"no such user ann@example.org")})

    monkeypatch.setattr(emails, "send_outbox_email", refused)
    assert tasks.send_outbox_email.apply(args=[row.pk]).get() == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    assert row.last_error == "SMTPRecipientsRefused"
    assert tasks.send_outbox_email.apply(args=[row.pk]).get() == "not claimed"


def test_retry_delays_grow_exponentially(settings):
    settings.EXPATDESK_EMAIL_RETRY_SECONDS = 30
    assert [tasks.retry_delay(n) for n in range(8)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_a_reminder_for_a_cancelled_booking_is_skipped(desk, service, monday_morning):
    appointment = book(desk, service, monday_morning)
    row = OutboxEmail.objects.create(appointment=appointment, kind=EmailKind.REMINDER, created_at=monday_morning)
    actions.cancel_appointment(appointment=appointment, now=monday_morning)
    assert tasks.send_outbox_email.apply(args=[row.pk]).get() == "skipped"
    row.refresh_from_db()
    assert row.status == OutboxStatus.SKIPPED
    assert mail.outbox == []


def test_sweep_requeues_only_lost_rows(desk, service, monday_morning, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.send_outbox_email, "delay", lambda email_id: queued.append(email_id))
    appointment = book(desk, service, monday_morning)
    now = monday_morning + timedelta(minutes=30)

    def row(kind, revision=0, **fields):
        return OutboxEmail.objects.create(appointment=appointment, kind=kind, revision=revision, **fields)

    fresh = row(EmailKind.MANAGE_LINK, 1, created_at=now - timedelta(seconds=30))
    lost = row(EmailKind.MANAGE_LINK, 2, created_at=now - timedelta(minutes=2))
    waiting_for_retry = row(
        EmailKind.MANAGE_LINK, 3, created_at=now - timedelta(minutes=5), next_attempt_at=now + timedelta(minutes=2)
    )
    abandoned = row(
        EmailKind.REMINDER,
        status=OutboxStatus.SENDING,
        created_at=now - timedelta(hours=1),
        claimed_at=now - timedelta(minutes=11),
    )
    busy = row(
        EmailKind.RESCHEDULE, 1, status=OutboxStatus.SENDING, created_at=now - timedelta(hours=1), claimed_at=now
    )
    row(EmailKind.CANCELLATION, status=OutboxStatus.FAILED, created_at=now - timedelta(hours=1))
    confirmation = OutboxEmail.objects.get(appointment=appointment, kind=EmailKind.CONFIRMATION)  # pending, 30 min old
    monkeypatch.setattr(tasks.timezone, "now", lambda: now)
    assert tasks.sweep_outbox.apply().get() == 3
    assert sorted(queued) == sorted([lost.pk, abandoned.pk, confirmation.pk])
    assert not {fresh.pk, waiting_for_retry.pk, busy.pk} & set(queued)


def test_reminder_task_writes_and_sends_once(
    desk, service, monday_morning, django_capture_on_commit_callbacks, settings, monkeypatch
):
    settings.EXPATDESK_REMINDER_HOURS = 24
    appointment = book(desk, service, monday_morning - timedelta(days=3))
    OutboxEmail.objects.filter(appointment=appointment).update(status=OutboxStatus.SENT)
    monkeypatch.setattr(tasks.timezone, "now", lambda: TUESDAY_9 - timedelta(hours=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_due_reminders.apply().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_due_reminders.apply().get() == 0
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Reminder"]
    row = OutboxEmail.objects.get(appointment=appointment, kind=EmailKind.REMINDER)
    assert row.status == OutboxStatus.SENT
