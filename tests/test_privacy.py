"""Privacy: anonymisation after the retention period, a person's export and erasure, the statements."""

import json
from datetime import datetime, time, timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import models
from django.utils import timezone

from bookings import actions, tasks
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EventKind,
    OutboxEmail,
    OutboxStatus,
    Person,
    SlotClaim,
)
from bookings.tokens import hash_token
from tests.support.desk import sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import ServiceFactory, make_desk
from tests.support.urls import reverse

pytestmark = pytest.mark.django_db

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM)

OLD = {
    "names": (("Zebulon", "Quackenbush"), ("Ysolde", "Quackenbush")),
    "email": "zebulon.quackenbush@example.org",
    "phone": "+31 6 9876 5432",
}
OLD_DONE = {"names": (("Ottoline", "Vandersloot"),), "email": "ottoline.v@example.net", "phone": "043 777 8899"}
RECENT = {"names": (("Wilhelmina", "Brouwersgracht"),), "email": "wil.brouwer@example.com", "phone": "+32 470 11 22 33"}


def personal_strings(person: dict) -> list[str]:
    names = [part for name in person["names"] for part in name]
    return [*names, person["email"], person["phone"]]


def book(desk, service, *, start, person, now, municipality=""):
    return actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[actions.PersonName(first, last) for first, last in person["names"]],
        contact_email=person["email"],
        phone=person["phone"],
        municipality=municipality,
        now=now,
    )


def database_text() -> str:
    """Every text value of every row of every table (sessions decoded), as one string."""
    chunks = []
    for model in apps.get_models(include_auto_created=True):
        fields = [
            field.column
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField)
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            chunks.append(json.dumps(row, ensure_ascii=False, default=str))
    for session in Session.objects.all():
        chunks.append(json.dumps(SessionStore().decode(session.session_data), ensure_ascii=False, default=str))
    return "\n".join(chunks)


def present(strings: list[str], text: str) -> list[str]:
    return [value for value in strings if value.casefold() in text.casefold()]


@pytest.fixture
def old_and_recent(service, admin_user):
    """Two appointments long past (one cancelled by staff with a reason naming the person, one kept) and
    one still to come; an expired session and the admin history carrying some of the old data."""
    registration = ServiceFactory(requires_municipality=True)  # the service that keeps a municipality
    desk = make_desk(services=[service, registration], weekdays=EVERY_DAY)
    old = book(
        desk, service, start=datetime(2026, 10, 6, 9, 0, tzinfo=AMSTERDAM), person=OLD, now=NOW - timedelta(days=60)
    )
    actions.cancel_appointment(
        appointment=old.appointment,
        now=NOW - timedelta(days=59),
        reason="Zebulon Quackenbush phoned, +31 6 9876 5432",
        actor=admin_user,
    )
    # An SMTP error text that (against the rules) carried the address.
    OutboxEmail.objects.filter(appointment=old.appointment).update(
        last_error="SMTPRecipientsRefused zebulon.quackenbush@example.org"
    )
    done = book(
        desk,
        registration,
        start=datetime(2026, 10, 7, 10, 0, tzinfo=AMSTERDAM),
        person=OLD_DONE,
        municipality="Vaals",
        now=NOW - timedelta(days=60),
    )
    recent = book(desk, service, start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM), person=RECENT, now=NOW)
    # A half-typed booking form left in a session that has since expired.
    session = SessionStore()
    session["booking_draft"] = {"email": OLD["email"], "first_name_1": "Zebulon", "phone": OLD["phone"]}
    session.set_expiry(NOW - timedelta(days=40))
    session.save()
    Session.objects.filter(session_key=session.session_key).update(expire_date=NOW - timedelta(days=40))
    live_session = SessionStore()
    live_session["booking_draft"] = {"email": RECENT["email"]}
    live_session.save()
    Session.objects.filter(session_key=live_session.session_key).update(expire_date=NOW + timedelta(days=7))
    LogEntry.objects.log_actions(
        user_id=admin_user.pk, queryset=[old.appointment], action_flag=2, change_message="Cancelled", single_object=True
    )
    return old, done, recent


def test_the_fixture_puts_the_personal_data_in_the_database(old_and_recent):
    # Without this the absence checks below could not fail.
    text = database_text()
    assert present(personal_strings(OLD), text) == personal_strings(OLD)
    assert present(personal_strings(OLD_DONE), text) == personal_strings(OLD_DONE)


def test_anonymising_leaves_no_name_email_or_phone_of_an_old_appointment_anywhere(old_and_recent):
    old, done, recent = old_and_recent
    recent_before = Appointment.objects.filter(pk=recent.appointment.pk).values().get()

    assert actions.anonymise_past_appointments(now=NOW) == 2

    text = database_text()
    assert present(personal_strings(OLD), text) == []
    assert present(personal_strings(OLD_DONE), text) == []
    assert present(personal_strings(RECENT), text) == personal_strings(RECENT)
    assert Appointment.objects.filter(pk=recent.appointment.pk).values().get() == recent_before
    assert Person.objects.filter(appointment=recent.appointment).count() == 1


def test_anonymising_keeps_what_statistics_need(old_and_recent):
    old, done, _recent = old_and_recent
    Appointment.objects.filter(pk=done.appointment.pk).update(client_key="f" * 64)  # as a hold carries it
    before = Appointment.objects.filter(pk=done.appointment.pk).values().get()

    actions.anonymise_past_appointments(now=NOW)

    after = Appointment.objects.filter(pk=done.appointment.pk).values().get()
    kept = [
        "reference",
        "service_id",
        "location_id",
        "start",
        "end",
        "persons",
        "status",
        "language",
        "municipality",
        "created_at",
        "booked_at",
    ]
    assert {key: after[key] for key in kept} == {key: before[key] for key in kept}
    assert after["municipality"] == "Vaals"
    erased = ["contact_email", "phone", "manage_token_hash", "client_key", "mailbox_key"]
    assert all(before[key] for key in erased)
    assert {key: after[key] for key in erased} == dict.fromkeys(erased, "")
    assert not Person.objects.filter(appointment=done.appointment).exists()
    cancelled = Appointment.objects.get(pk=old.appointment.pk)
    assert (cancelled.status, cancelled.cancel_reason, cancelled.persons) == (AppointmentStatus.CANCELLED, "", 2)
    for appointment in (old.appointment, done.appointment):
        kinds = list(AppointmentEvent.objects.filter(appointment=appointment).values_list("kind", flat=True))
        assert kinds[-1] == EventKind.ANONYMISED
        assert kinds.count(EventKind.ANONYMISED) == 1
    # The manage link stops working.
    assert not Appointment.objects.filter(manage_token_hash=hash_token(old.manage_token)).exists()


def test_anonymising_skips_unsent_emails_and_runs_once(old_and_recent):
    old, done, recent = old_and_recent
    assert OutboxEmail.objects.filter(appointment=done.appointment, status=OutboxStatus.PENDING).exists()

    actions.anonymise_past_appointments(now=NOW)
    assert actions.anonymise_past_appointments(now=NOW + timedelta(days=1)) == 0

    assert set(
        OutboxEmail.objects.filter(appointment__in=[old.appointment, done.appointment]).values_list("status", flat=True)
    ) == {OutboxStatus.SKIPPED}
    assert OutboxEmail.objects.get(appointment=recent.appointment).status == OutboxStatus.PENDING
    assert AppointmentEvent.objects.filter(kind=EventKind.ANONYMISED).count() == 2


def test_the_retention_period_is_the_setting(service, settings):
    desk = make_desk(services=[service], weekdays=EVERY_DAY)
    ended_25_days_ago = book(
        desk, service, start=datetime(2026, 11, 5, 9, 0, tzinfo=AMSTERDAM), person=OLD, now=NOW - timedelta(days=40)
    ).appointment

    settings.EXPATDESK_ANONYMISE_AFTER_DAYS = 30
    assert actions.anonymise_past_appointments(now=NOW) == 0
    assert Appointment.objects.get(pk=ended_25_days_ago.pk).contact_email == OLD["email"]

    settings.EXPATDESK_ANONYMISE_AFTER_DAYS = 20
    assert actions.anonymise_past_appointments(now=NOW) == 1
    assert Appointment.objects.get(pk=ended_25_days_ago.pk).contact_email == ""


def test_the_daily_task_is_scheduled_and_anonymises_in_batches(service, monkeypatch):
    assert settings.CELERY_BEAT_SCHEDULE["anonymise-past-appointments"]["task"] == (
        "bookings.tasks.anonymise_past_appointments_task"
    )
    # The task runs at the real time: book on a day well past the retention period (not a holiday).
    desk = make_desk(services=[service], weekdays=EVERY_DAY)
    day = (timezone.now() - timedelta(days=settings.EXPATDESK_ANONYMISE_AFTER_DAYS + 10)).astimezone(AMSTERDAM).date()
    for hour in (9, 10, 11):
        while True:
            start = datetime.combine(day, time(hour, 0), tzinfo=AMSTERDAM)
            try:
                book(desk, service, start=start, person=OLD, now=start - timedelta(days=7))
                break
            except actions.BookingError as error:
                assert error.code == actions.BookingError.CLOSED
                day -= timedelta(days=1)
    monkeypatch.setattr(actions, "ANONYMISE_BATCH", 2)

    assert tasks.anonymise_past_appointments_task.delay().get() == 3

    assert present(personal_strings(OLD), database_text()) == []


# ---- a person's request: export and erase --------------------------------------------------------


def test_erasing_cancels_the_bookings_to_come_and_erases_every_appointment_of_that_address(
    old_and_recent, service, admin_user
):
    old, done, recent = old_and_recent
    desk = recent.appointment.location
    # The same person (the address in other capitals) booked again, for next week.
    again = book(
        desk,
        service,
        start=datetime(2026, 12, 2, 9, 0, tzinfo=AMSTERDAM),
        person={**OLD, "email": OLD["email"].upper()},
        now=NOW,
    ).appointment
    assert SlotClaim.objects.filter(appointment=again).exists()

    assert actions.erase_personal_data(email=f"  {OLD['email']} ", now=NOW, actor=admin_user) == 2

    again.refresh_from_db()
    assert again.status == AppointmentStatus.CANCELLED
    assert not SlotClaim.objects.filter(appointment=again).exists()
    assert not OutboxEmail.objects.filter(appointment=again, status=OutboxStatus.PENDING).exists()
    erased = AppointmentEvent.objects.get(appointment=again, kind=EventKind.ANONYMISED)
    assert (erased.actor, erased.detail) == (admin_user, actions.ERASURE_DETAIL)
    text = database_text()
    assert present(personal_strings(OLD), text) == []
    # Other people keep theirs.
    assert present(personal_strings(OLD_DONE), text) == personal_strings(OLD_DONE)
    assert present(personal_strings(RECENT), text) == personal_strings(RECENT)


def test_erasing_needs_an_address(admin_user):
    with pytest.raises(actions.BookingError) as caught:
        actions.erase_personal_data(email="  ", now=NOW, actor=admin_user)
    assert caught.value.code == actions.EMAIL_REQUIRED


PERSONAL_DATA_URL = "admin:bookings_appointment_personal_data"


def test_the_appointments_list_links_to_the_personal_data_page(client, admin_user, old_and_recent):
    sign_in(client, admin_user)
    response = client.get(reverse("admin:bookings_appointment_changelist"))
    assert reverse(PERSONAL_DATA_URL) in response.content.decode()


def test_the_admin_index_links_to_the_personal_data_page(client, admin_user):
    sign_in(client, admin_user)
    response = client.get(reverse("admin:index"))
    assert f'href="{reverse(PERSONAL_DATA_URL)}"' in response.content.decode()


def test_the_admin_action_opens_the_request_for_the_selected_bookings_address(client, admin_user, old_and_recent):
    old, done, recent = old_and_recent
    sign_in(client, admin_user)
    changelist = reverse("admin:bookings_appointment_changelist")

    response = client.post(changelist, {"action": "personal_data_request", "_selected_action": [old.appointment.pk]})

    assert response.status_code == 200
    content = response.content.decode()
    assert f'action="{reverse(PERSONAL_DATA_URL)}"' in content
    assert f'value="{OLD["email"]}"' in content
    assert old.appointment.reference in content
    assert recent.appointment.reference not in content
    assert OLD["email"] not in response.wsgi_request.get_full_path()

    mixed = client.post(
        changelist,
        {"action": "personal_data_request", "_selected_action": [old.appointment.pk, recent.appointment.pk]},
    )
    assert mixed.status_code == 302  # back to the list, with a warning: one address at a time


def test_an_admin_exports_one_persons_data_as_json(client, admin_user, old_and_recent):
    old, done, recent = old_and_recent
    sign_in(client, admin_user)

    found = client.post(reverse(PERSONAL_DATA_URL), {"email": OLD["email"], "do": "find"})
    assert found.status_code == 200
    assert old.appointment.reference in found.content.decode()
    response = client.post(reverse(PERSONAL_DATA_URL), {"email": OLD["email"].upper(), "do": "export"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    [appointment] = data["appointments"]
    assert appointment["reference"] == old.appointment.reference
    assert [(p["first_name"], p["last_name"]) for p in appointment["people"]] == list(OLD["names"])
    assert (appointment["email"], appointment["phone"], appointment["status"]) == (
        OLD["email"],
        OLD["phone"],
        "cancelled",
    )
    assert [event["kind"] for event in appointment["events"]] == [EventKind.BOOKED, EventKind.CANCELLED]
    assert {email["kind"] for email in appointment["emails"]} == {"confirmation", "cancellation"}
    assert RECENT["email"] not in response.content.decode()
    assert OLD_DONE["names"][0][0] not in response.content.decode()


def test_an_export_records_who_downloaded_it_and_when_without_personal_data(client, admin_user, old_and_recent):
    old, done, recent = old_and_recent
    sign_in(client, admin_user)
    before, log_entries = timezone.now(), LogEntry.objects.count()
    response = client.post(reverse(PERSONAL_DATA_URL), {"email": OLD["email"], "do": "export"})
    assert response.status_code == 200
    [event] = AppointmentEvent.objects.filter(kind=EventKind.EXPORTED)
    assert (event.appointment_id, event.actor, event.detail) == (old.appointment.pk, admin_user, "")
    assert before <= event.at <= timezone.now()
    # Only the appointments exported; nothing of the person in the record, and no admin log entry.
    assert not AppointmentEvent.objects.filter(kind=EventKind.EXPORTED).exclude(appointment=old.appointment).exists()
    assert LogEntry.objects.count() == log_entries
    # The action itself, as any other door would call it.
    actions.export_personal_data(email=OLD["email"], now=NOW, actor=None)
    assert AppointmentEvent.objects.filter(kind=EventKind.EXPORTED, actor=None, at=NOW).count() == 1
    with pytest.raises(actions.BookingError) as refused:
        actions.export_personal_data(email="  ", now=NOW, actor=admin_user)
    assert refused.value.code == actions.EMAIL_REQUIRED


def test_an_admin_erases_one_persons_data_after_confirming(client, admin_user, old_and_recent):
    old, done, recent = old_and_recent
    sign_in(client, admin_user)

    unconfirmed = client.post(reverse(PERSONAL_DATA_URL), {"email": OLD["email"], "do": "erase"})
    assert unconfirmed.status_code == 200
    assert Appointment.objects.get(pk=old.appointment.pk).contact_email == OLD["email"]

    response = client.post(reverse(PERSONAL_DATA_URL), {"email": OLD["email"], "do": "erase", "confirm": "on"})

    assert response.status_code == 302
    assert present(personal_strings(OLD), database_text()) == []
    assert Appointment.objects.get(pk=done.appointment.pk).contact_email == OLD_DONE["email"]


def test_a_bad_address_is_a_form_error(client, admin_user):
    sign_in(client, admin_user)
    response = client.post(reverse(PERSONAL_DATA_URL), {"email": "not an address", "do": "export"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_staff_who_may_only_view_appointments_may_export_but_not_erase(client, old_and_recent):
    old, _done, _recent = old_and_recent
    viewer = User.objects.create_user("viewer", password="x" * 16, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_appointment"))
    sign_in(client, viewer)

    export = client.post(reverse(PERSONAL_DATA_URL), {"email": OLD["email"], "do": "export"})
    erase = client.post(reverse(PERSONAL_DATA_URL), {"email": OLD["email"], "do": "erase", "confirm": "on"})

    assert export.status_code == 200
    assert erase.status_code == 403
    assert Appointment.objects.get(pk=old.appointment.pk).contact_email == OLD["email"]


def test_staff_without_the_view_permission_get_no_data(client, old_and_recent):
    nobody = User.objects.create_user("nobody", password="x" * 16, is_staff=True)
    sign_in(client, nobody)
    response = client.post(reverse(PERSONAL_DATA_URL), {"email": OLD["email"], "do": "export"})
    assert response.status_code == 403


# ---- the statements ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_page_footer_links_both_statements(client, desk, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for name in ("bookings:start", "bookings:find", "bookings:privacy", "bookings:accessibility"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        footer = response.content.decode().split('<footer class="site-footer">')[1]
        assert f'href="{reverse("bookings:privacy")}"' in footer
        assert f'href="{reverse("bookings:accessibility")}"' in footer
        assert f'<html lang="{language}">' in response.content.decode()


def test_the_privacy_statement_names_the_retention_period_and_the_rights(client, desk, settings):
    settings.EXPATDESK_ANONYMISE_AFTER_DAYS = 45
    settings.EXPATDESK_PRIVACY_EMAIL = "privacy@example.org"
    page = client.get(reverse("bookings:privacy")).content.decode()
    assert "erased 45 days after your appointment" in page
    for section in ("controller", "collected", "purposes", "legal-basis", "retention", "rights", "contact"):
        assert f'id="{section}"' in page
    assert "mailto:privacy@example.org" in page
    assert desk.street in page


def test_the_accessibility_statement_names_the_standard(client, desk):
    page = client.get(reverse("bookings:accessibility")).content.decode()
    assert "WCAG" in page
    assert "2.1" in page
    assert "EN 301 549" in page


@pytest.mark.parametrize("template", ["500.html", "403_csrf.html", "busy.html"])
def test_the_standalone_error_pages_link_both_statements_without_the_database(template, django_assert_num_queries):
    from django.template.loader import render_to_string

    with django_assert_num_queries(0):
        content = render_to_string(template)
    footer = content.split('<footer class="site-footer">')[1]
    assert f'href="{reverse("bookings:privacy")}"' in footer
    assert f'href="{reverse("bookings:accessibility")}"' in footer
