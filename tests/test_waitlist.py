"""The waitlist (issue 14 §3): joining, matching freed time to entries, offers held through the engine,
accepting (booking or moving), declining, lapsing, leaving, ending, anonymising, e-mails and pages."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from bookings import hooks
from bookings.actions import BookingError, PersonName, book_appointment, cancel_appointment, expire_holds
from bookings.models import Appointment, AppointmentStatus, EmailKind, OutboxEmail, SlotClaim
from tests.support.factories import ServiceFactory, make_desk
from tests.support.factories import offer as offer_services
from tests.support.plans import generic_plan, last_statement
from tests.support.races import TUESDAY, at
from tests.support.urls import reverse
from tests.support.waitlist import fill_day, live_holders, make_entry
from waitlist import actions, selectors
from waitlist.models import (
    AFTERNOON,
    MORNING,
    EntryStatus,
    MessageKind,
    OfferStatus,
    WaitlistEntry,
    WaitlistMessage,
    WaitlistOffer,
    day_part_bit,
)

NINE = at(TUESDAY, "09:00")
TUESDAY_MORNING = day_part_bit(weekday=1, part=MORNING)
TUESDAY_AFTERNOON = day_part_bit(weekday=1, part=AFTERNOON)


@pytest.fixture
def desk(db, service):
    """One counter, open on Tuesdays only (09:00–12:30, 13:30–17:00)."""
    return make_desk(services=[service], counters=1, weekdays=(1,))


@pytest.fixture
def full_tuesday(desk, service, monday_morning):
    return fill_day(location=desk, service=service, day=TUESDAY, now=monday_morning)


def booked_at(appointments, start):
    return next(a for a in appointments if a.start == start)


def offer_of(entry) -> WaitlistOffer | None:
    return WaitlistOffer.objects.filter(entry=entry, status=OfferStatus.OPEN).select_related("appointment").first()


# ---- the hook: a cancellation offers its time inside its own transaction -----------------------------


def test_a_cancellation_holds_its_time_for_the_first_matching_entry(
    desk, service, full_tuesday, monday_morning, django_capture_on_commit_callbacks
):
    other_service = ServiceFactory()
    t = monday_morning
    afternoon_only = make_entry(
        location=desk,
        service=service,
        now=t,
        email="pm@example.org",
        day=TUESDAY,
        day_parts=TUESDAY_AFTERNOON,
        joined_at=t - timedelta(hours=5),
    )
    family = make_entry(
        location=desk,
        service=service,
        now=t,
        email="family@example.org",
        day=TUESDAY,
        persons=2,
        joined_at=t - timedelta(hours=4),
    )
    elsewhere = make_entry(
        location=desk,
        service=other_service,
        now=t,
        email="other@example.org",
        day=TUESDAY,
        joined_at=t - timedelta(hours=3),
    )
    first = make_entry(
        location=desk, service=service, now=t, email="first@example.org", day=TUESDAY, joined_at=t - timedelta(hours=2)
    )
    second = make_entry(
        location=desk, service=service, now=t, email="second@example.org", day=TUESDAY, joined_at=t - timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(appointment=booked_at(full_tuesday, NINE), now=t)

    offer = offer_of(first)
    assert offer is not None and offer.start == NINE
    assert offer.appointment.status == AppointmentStatus.HELD
    assert offer.expires_at == offer.appointment.hold_expires_at == t + timedelta(minutes=60)
    assert [a.pk for a in live_holders(location=desk, start=NINE, now=t)] == [offer.appointment.pk]
    for entry in (afternoon_only, family, elsewhere, second):
        entry.refresh_from_db()
        assert entry.status == EntryStatus.WAITING
    first.refresh_from_db()
    assert first.status == EntryStatus.OFFERED
    # The offer e-mail went out, with the link to the offer page.
    offers = [m for m in mail.outbox if "/waitlist/offer/" in m.body]
    assert [m.to for m in offers] == [["first@example.org"]]


def test_a_failing_handler_never_fails_the_change_and_the_scan_catches_up(
    desk, service, full_tuesday, monday_morning, monkeypatch
):
    entry = make_entry(location=desk, service=service, now=monday_morning, day=TUESDAY)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(hooks, "_capacity_freed", [broken])
    cancel_appointment(appointment=booked_at(full_tuesday, NINE), now=monday_morning)
    assert offer_of(entry) is None  # the hook was missed ...

    assert actions.scan_waitlist(now=monday_morning) == 1  # ... the scan is the safety net
    assert offer_of(entry).start == NINE


def test_nobody_waiting_costs_the_cancellation_one_query(desk, service, full_tuesday, monday_morning):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        actions.offer_freed_capacity(location_id=desk.pk, days=[TUESDAY], now=monday_morning)
    assert len(queries) == 1


# ---- matching: days and day-parts, persons, service, municipality -------------------------------------


@pytest.mark.parametrize(
    ("day_parts", "expected"),
    [(TUESDAY_MORNING, "09:00"), (TUESDAY_AFTERNOON, "12:00"), (day_part_bit(weekday=0, part=MORNING), None)],
)
def test_matching_follows_the_days_and_day_parts(desk, service, monday_morning, day_parts, expected):
    entry = make_entry(location=desk, service=service, now=monday_morning, day_parts=day_parts)
    actions.scan_waitlist(now=monday_morning)
    offer = offer_of(entry)
    if expected is None:
        assert offer is None
    else:
        assert offer.start == at(TUESDAY, expected)


def test_matching_follows_the_date_range(desk, service, monday_morning):
    later = TUESDAY + timedelta(days=7)
    entry = make_entry(location=desk, service=service, now=monday_morning, first_day=later, last_day=later)
    actions.scan_waitlist(now=monday_morning)
    assert offer_of(entry).start == at(later, "09:00")


def test_matching_needs_room_for_every_person(desk, service, full_tuesday, monday_morning):
    family = make_entry(
        location=desk,
        service=service,
        now=monday_morning,
        persons=2,
        day=TUESDAY,
        email="family@example.org",
        joined_at=monday_morning - timedelta(hours=1),
    )
    single = make_entry(location=desk, service=service, now=monday_morning, day=TUESDAY, email="one@example.org")
    cancel_appointment(appointment=booked_at(full_tuesday, NINE), now=monday_morning)
    assert offer_of(family) is None  # one free unit: no room for two
    assert offer_of(single).start == NINE


def test_matching_follows_the_service(desk, service, monday_morning):
    unserved = ServiceFactory()  # no counter serves it
    entry = make_entry(location=desk, service=unserved, now=monday_morning)
    actions.scan_waitlist(now=monday_morning)
    assert offer_of(entry) is None


def test_matching_keeps_to_participating_municipalities(desk, monday_morning):
    registration = ServiceFactory(requires_municipality=True)
    for counter in desk.counters.all():
        counter.services.add(registration)
    offer_services(desk, [registration])
    inside = make_entry(
        location=desk, service=registration, now=monday_morning, municipality="Heerlen", email="in@example.org"
    )
    outside = make_entry(
        location=desk, service=registration, now=monday_morning, municipality="Amsterdam", email="out@example.org"
    )
    actions.scan_waitlist(now=monday_morning)
    assert offer_of(inside).appointment.municipality == "Heerlen"
    assert offer_of(outside) is None


def test_no_offer_too_soon_to_answer(desk, service, monday_morning):
    entry = make_entry(location=desk, service=service, now=monday_morning, day=TUESDAY)
    late = at(TUESDAY, "16:30")  # 16:30 + 60 minutes is past the last start
    actions.scan_waitlist(now=late)
    assert offer_of(entry) is None


# ---- answering: accept, decline, lapse --------------------------------------------------------------


@pytest.fixture
def offered(desk, service, full_tuesday, monday_morning):
    first = make_entry(
        location=desk,
        service=service,
        now=monday_morning,
        day=TUESDAY,
        email="first@example.org",
        joined_at=monday_morning - timedelta(hours=2),
    )
    second = make_entry(
        location=desk,
        service=service,
        now=monday_morning,
        day=TUESDAY,
        email="second@example.org",
        joined_at=monday_morning - timedelta(hours=1),
    )
    cancel_appointment(appointment=booked_at(full_tuesday, NINE), now=monday_morning)
    return first, second, offer_of(first)


def test_accepting_books_the_held_time_in_one_step(offered, monday_morning):
    first, second, offer = offered
    result = actions.accept_offer(offer=offer, now=monday_morning + timedelta(minutes=5))
    booking = result.appointment
    assert booking.pk == offer.appointment_id and booking.status == AppointmentStatus.BOOKED
    assert booking.contact_email == "first@example.org"
    assert [str(p) for p in booking.people.all()] == ["Wait 1 Person"]
    assert SlotClaim.objects.filter(appointment=booking, expires_at__isnull=True).count() == 1
    assert OutboxEmail.objects.filter(appointment=booking, kind=EmailKind.CONFIRMATION).exists()
    offer.refresh_from_db()
    first.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED and first.status == EntryStatus.BOOKED
    with pytest.raises(BookingError) as refused:
        actions.accept_offer(offer=offer, now=monday_morning + timedelta(minutes=6))
    assert refused.value.code == actions.OFFER_GONE


def test_declining_gives_the_time_to_the_next_entry(offered, monday_morning):
    first, second, offer = offered
    assert actions.decline_offer(offer=offer, now=monday_morning) is True
    first.refresh_from_db()
    assert first.status == EntryStatus.WAITING
    assert offer_of(second).start == NINE
    # The entry that said no is not offered the same time again.
    actions.decline_offer(offer=offer_of(second), now=monday_morning)
    assert offer_of(first) is None
    assert actions.decline_offer(offer=offer, now=monday_morning) is False


def test_a_lapsed_offer_goes_to_the_next_entry_and_cannot_be_accepted(offered, monday_morning):
    first, second, offer = offered
    later = offer.expires_at + timedelta(minutes=1)
    actions.scan_waitlist(now=later)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.LAPSED
    assert offer_of(second).start == NINE
    with pytest.raises(BookingError) as refused:
        actions.accept_offer(offer=offer, now=later)
    assert refused.value.code == actions.OFFER_GONE
    assert len(live_holders(location=offer.appointment.location, start=NINE, now=later)) == 1


def test_the_hold_sweep_passes_a_lapsed_offer_on(offered, monday_morning):
    first, second, offer = offered
    later = offer.expires_at + timedelta(minutes=1)
    assert expire_holds(now=later) == 1  # the sweep's hook lapses the offer and offers the time on
    assert offer_of(second).start == NINE


@override_settings(EXPATDESK_FAIR_SHARE_DAY_MINUTES=15)
def test_fair_share_caps_apply_to_offers(desk, service, monday_morning):
    book_appointment(
        location=desk,
        service=service,
        start=NINE,
        names=[PersonName("Busy", "Person")],
        contact_email="busy@example.org",
        now=monday_morning,
    )
    full = fill_day(location=desk, service=service, day=TUESDAY, now=monday_morning)
    busy = make_entry(
        location=desk,
        service=service,
        now=monday_morning,
        day=TUESDAY,
        email="busy@example.org",
        joined_at=monday_morning - timedelta(hours=1),
    )
    other = make_entry(location=desk, service=service, now=monday_morning, day=TUESDAY, email="other@example.org")
    cancel_appointment(appointment=booked_at(full, at(TUESDAY, "09:15")), now=monday_morning)
    assert offer_of(busy) is None  # a second 15 minutes that day is past the mailbox's share
    assert offer_of(other).start == at(TUESDAY, "09:15")


# ---- an earlier time for a booking ------------------------------------------------------------------


@pytest.fixture
def late_booking(desk, service, full_tuesday, monday_morning):
    late = booked_at(full_tuesday, at(TUESDAY, "16:45"))
    late.contact_email = "late@example.org"
    late.save(update_fields=["contact_email"])
    return late


def test_an_accepted_earlier_time_moves_the_booking_and_frees_the_old_one(
    desk, service, late_booking, full_tuesday, monday_morning
):
    entry = actions.ask_for_earlier_time(
        appointment=late_booking, day_parts=TUESDAY_MORNING | TUESDAY_AFTERNOON, first_day=TUESDAY, now=monday_morning
    )
    waiting = make_entry(location=desk, service=service, now=monday_morning, day=TUESDAY, email="next@example.org")
    cancel_appointment(appointment=booked_at(full_tuesday, NINE), now=monday_morning)
    offer = offer_of(entry)
    assert offer.start == NINE

    result = actions.accept_offer(offer=offer, now=monday_morning)
    late_booking.refresh_from_db()
    assert result.appointment.pk == late_booking.pk and late_booking.start == NINE
    assert late_booking.status == AppointmentStatus.BOOKED
    assert Appointment.objects.get(pk=offer.appointment_id).status == AppointmentStatus.CANCELLED
    assert OutboxEmail.objects.filter(appointment=late_booking, kind=EmailKind.RESCHEDULE).exists()
    # The old 16:45 went to the next person waiting, in the same transaction.
    assert offer_of(waiting).start == at(TUESDAY, "16:45")


def test_a_move_that_fails_keeps_the_old_booking_and_the_offer(
    desk, service, late_booking, full_tuesday, monday_morning, monkeypatch
):
    entry = actions.ask_for_earlier_time(
        appointment=late_booking, day_parts=TUESDAY_MORNING, first_day=TUESDAY, now=monday_morning
    )
    cancel_appointment(appointment=booked_at(full_tuesday, NINE), now=monday_morning)
    offer = offer_of(entry)

    def refuse(**kwargs):
        raise BookingError(BookingError.FAIR_SHARE_EXCEEDED, "no")

    monkeypatch.setattr(actions, "move_locked_booking", refuse)
    with pytest.raises(BookingError):
        actions.accept_offer(offer=offer, now=monday_morning)
    late_booking.refresh_from_db()
    assert late_booking.start == at(TUESDAY, "16:45")
    assert SlotClaim.objects.filter(appointment=late_booking).count() == 1
    offer.refresh_from_db()
    assert offer.status == OfferStatus.OPEN
    assert SlotClaim.objects.filter(appointment_id=offer.appointment_id).count() == 1


def test_only_earlier_times_are_offered_for_a_booking(desk, service, late_booking, full_tuesday, monday_morning):
    early = booked_at(full_tuesday, at(TUESDAY, "10:00"))
    early.contact_email = "early@example.org"
    early.save(update_fields=["contact_email"])
    entry = actions.ask_for_earlier_time(
        appointment=early, day_parts=TUESDAY_MORNING | TUESDAY_AFTERNOON, first_day=TUESDAY, now=monday_morning
    )
    cancel_appointment(appointment=booked_at(full_tuesday, at(TUESDAY, "11:00")), now=monday_morning)
    assert offer_of(entry) is None


# ---- joining, duplicates, leaving, ending, anonymising ------------------------------------------------


def join(desk, service, now, email="join@example.org", **overrides):
    values = {
        "location": desk,
        "service": service,
        "persons": 1,
        "day_parts": TUESDAY_MORNING,
        "first_day": TUESDAY,
        "last_day": TUESDAY + timedelta(days=14),
        "email": email,
        "names": [PersonName(first_name="Ana", last_name="Silva")],
        "now": now,
    }
    values.update(overrides)
    return actions.join_waitlist(**values)


def test_one_open_entry_per_mailbox_and_service(desk, service, monday_morning):
    first = join(desk, service, monday_morning, email="ana.silva@gmail.com")
    for spelling in ("ANA.SILVA@gmail.com", "anasilva+waitlist@googlemail.com"):
        with pytest.raises(BookingError) as refused:
            join(desk, service, monday_morning, email=spelling)
        assert refused.value.code == actions.ALREADY_WAITING
    other = ServiceFactory()
    assert join(desk, other, monday_morning, email="anasilva@gmail.com").pk != first.pk
    actions.leave_waitlist(entry=first, now=monday_morning)
    assert join(desk, service, monday_morning, email="anasilva@gmail.com").status == EntryStatus.WAITING


def test_the_database_keeps_one_open_entry_per_mailbox_and_service(desk, service, monday_morning):
    from django.db import IntegrityError, transaction

    make_entry(location=desk, service=service, now=monday_morning, email="x@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_entry(location=desk, service=service, now=monday_morning, email="X@example.org")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"day_parts": 0}, actions.NO_DAYS),
        ({"first_day": date(2026, 11, 1)}, actions.BAD_DATES),
        ({"last_day": TUESDAY + timedelta(days=400)}, actions.BAD_DATES),
        ({"persons": 2}, BookingError.NAMES_MISMATCH),
        ({"persons": 9}, BookingError.TOO_MANY_PERSONS),
    ],
)
def test_joining_refuses_bad_input(desk, service, monday_morning, overrides, code):
    with pytest.raises(BookingError) as refused:
        join(desk, service, monday_morning, **overrides)
    assert refused.value.code == code


def test_leaving_withdraws_the_offer_and_passes_the_time_on(offered, monday_morning):
    first, second, offer = offered
    assert actions.leave_waitlist(entry=first, now=monday_morning) is True
    first.refresh_from_db()
    offer.refresh_from_db()
    assert first.status == EntryStatus.LEFT and offer.status == OfferStatus.WITHDRAWN
    assert offer_of(second).start == NINE
    assert actions.leave_waitlist(entry=first, now=monday_morning) is False


def test_entries_end_when_their_days_pass(desk, service, monday_morning):
    past = make_entry(
        location=desk,
        service=service,
        now=monday_morning,
        day=TUESDAY,
        email="p@example.org",
        day_parts=day_part_bit(weekday=0, part=MORNING),
    )
    future = make_entry(
        location=desk,
        service=service,
        now=monday_morning,
        email="f@example.org",
        day_parts=day_part_bit(weekday=0, part=MORNING),
    )
    wednesday = datetime(2026, 12, 2, 8, 0, tzinfo=monday_morning.tzinfo)
    assert actions.end_past_entries(now=wednesday) == 1
    past.refresh_from_db()
    future.refresh_from_db()
    assert past.status == EntryStatus.ENDED and past.ended_at == wednesday
    assert future.status == EntryStatus.WAITING


def test_an_earlier_time_entry_ends_with_its_booking(desk, service, late_booking, monday_morning):
    entry = actions.ask_for_earlier_time(
        appointment=late_booking, day_parts=TUESDAY_MORNING, first_day=TUESDAY, now=monday_morning
    )
    cancel_appointment(appointment=late_booking, now=monday_morning)
    actions.end_past_entries(now=monday_morning)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ENDED


@override_settings(EXPATDESK_ANONYMISE_AFTER_DAYS=30)
def test_ended_entries_are_anonymised_like_appointments(desk, service, monday_morning):
    old = join(desk, service, monday_morning, email="old@example.org")
    recent = join(desk, ServiceFactory(), monday_morning, email="recent@example.org")
    actions.leave_waitlist(entry=old, now=monday_morning)
    actions.leave_waitlist(entry=recent, now=monday_morning + timedelta(days=20))
    WaitlistMessage.objects.filter(entry=old).update(token_hash="a" * 64)
    assert actions.anonymise_entries(now=monday_morning + timedelta(days=31)) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.email, old.names, old.mailbox_key) == ("", [], "")
    assert old.anonymised_at is not None and old.service_id == service.pk and old.persons == 1
    assert not WaitlistMessage.objects.filter(entry=old).exclude(token_hash="").exists()
    assert recent.email == "recent@example.org"


# ---- e-mails --------------------------------------------------------------------------------------------


def token_in(body: str, kind: str) -> str:
    return re.search(rf"/waitlist/{kind}/([0-9a-f]{{64}})/", body).group(1)


@pytest.mark.parametrize(
    ("language", "subject", "leave"),
    [("en", "You are on the waitlist", "To leave the waitlist"), ("nl", "U staat op de wachtlijst", "wachtlijst")],
)
def test_the_confirmation_e_mail_has_a_leave_link(
    client, desk, service, monday_morning, django_capture_on_commit_callbacks, language, subject, leave
):
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(desk, service, monday_morning, language=language)
    message = mail.outbox[0]
    assert subject in message.subject and leave in message.body
    token = token_in(message.body, "leave")
    stored = WaitlistMessage.objects.get(entry=entry, kind=MessageKind.JOINED)
    assert token not in stored.token_hash and len(stored.token_hash) == 64  # only the hash is kept
    assert client.get(reverse("waitlist:leave", kwargs={"token": token})).status_code == 200
    response = client.post(reverse("waitlist:leave", kwargs={"token": token}))
    assert response.status_code == 200
    entry.refresh_from_db()
    assert entry.status == EntryStatus.LEFT
    assert client.get(reverse("waitlist:leave", kwargs={"token": "0" * 64})).status_code == 404


@pytest.mark.parametrize(("language", "word"), [("en", "A time is free for you"), ("nl", "Er is een tijd vrij")])
def test_the_offer_e_mail_books_in_one_click(client, service, django_capture_on_commit_callbacks, language, word):
    # The pages read the real clock: a desk open every day, a day a week from now.
    now = timezone.now()
    location = make_desk(services=[service], counters=1, weekdays=tuple(range(7)))
    day = (now + timedelta(days=7)).astimezone(location.tz).date()
    full = fill_day(location=location, service=service, day=day, now=now)
    entry = make_entry(location=location, service=service, now=now, day=day, language=language)
    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(appointment=full[0], now=now)
    (message,) = [m for m in mail.outbox if "/waitlist/offer/" in m.body]
    assert word in message.subject
    token = token_in(message.body, "offer")
    url = reverse("waitlist:offer", kwargs={"token": token})
    assert client.get(url).status_code == 200
    assert client.post(url, {"answer": "maybe"}).status_code == 400
    response = client.post(url, {"answer": "accept"})
    assert response.status_code == 302 and "/manage/" in response["Location"]
    entry.refresh_from_db()
    assert entry.status == EntryStatus.BOOKED
    assert client.get(response["Location"]).status_code == 200
    again = client.post(url, {"answer": "accept"})
    assert again.status_code == 409
    assert client.get(reverse("waitlist:offer", kwargs={"token": "0" * 64})).status_code == 404


# ---- pages --------------------------------------------------------------------------------------------


def join_url(service, persons=1):
    return reverse("waitlist:join", kwargs={"service_code": service.code}) + f"?persons={persons}"


def join_data(**overrides):
    data = {
        "persons": "1",
        "day_parts": ["1-0", "1-1"],
        "first_name_1": "Ana",
        "last_name_1": "Silva",
        "email": "ana@example.org",
        "language": "en",
        "consent": "on",
    }
    data.update(overrides)
    return data


def test_the_calendar_offers_the_waitlist(client, desk, service):
    response = client.get(reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1")
    assert response.status_code == 200
    assert reverse("waitlist:join", kwargs={"service_code": service.code}) in response.content.decode()


def test_joining_from_the_page(client, desk, service):
    response = client.get(join_url(service))
    assert response.status_code == 200 and 'name="day_parts"' in response.content.decode()
    response = client.post(join_url(service), join_data())
    assert response.status_code == 200
    entry = WaitlistEntry.objects.get()
    assert entry.day_parts == TUESDAY_MORNING | TUESDAY_AFTERNOON and entry.names == [["Ana", "Silva"]]
    assert client.post(join_url(service), join_data()).status_code == 409


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (join_data(day_parts=[]), "Please choose at least one day"),
        (join_data(day_parts=["9-9"]), "Please choose days from the list"),
        (join_data(email="nope"), "Enter an e-mail address"),
        (join_data(first_day="2026-13-45"), "Enter a date"),
        (join_data(first_day="2099-01-02", last_day="2099-01-01"), "The last day cannot be before"),
    ],
)
def test_bad_input_on_the_page_is_a_400_with_a_clear_message(client, desk, service, data, message):
    response = client.post(join_url(service), data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_bad_input_is_refused_in_dutch(client, desk, service):
    response = client.post(join_url(service), join_data(day_parts=[]), HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 400
    assert "Kies ten minste één dag" in response.content.decode()


def test_bad_answers_are_a_400(client, desk, service):
    assert client.post(join_url(service), join_data(persons="99")).status_code == 400


@override_settings(EXPATDESK_RATE_WAITLIST="2/m")
def test_joining_is_rate_limited(client, desk, service):
    for n in range(2):
        client.post(join_url(service), join_data(email=f"r{n}@example.org"))
    assert client.post(join_url(service), join_data(email="r9@example.org")).status_code == 429


def test_asking_for_an_earlier_time_from_the_manage_page(client, service):
    from datetime import time as clock

    from bookings.actions import book_appointment as book

    now = timezone.now()  # the pages read the real clock
    location = make_desk(services=[service], counters=1, weekdays=tuple(range(7)))
    day = (now + timedelta(days=14)).astimezone(location.tz).date()
    result = book(
        location=location,
        service=service,
        start=location.local_datetime(day, clock(10, 0)),
        names=[PersonName(first_name="Ana", last_name="Silva")],
        contact_email="ana@example.org",
        now=now,
    )
    manage = client.get(reverse("bookings:manage", kwargs={"token": result.manage_token}))
    earlier_url = reverse("waitlist:earlier", kwargs={"token": result.manage_token})
    assert earlier_url in manage.content.decode()
    assert client.post(earlier_url, {"day_parts": []}).status_code == 400
    response = client.post(earlier_url, {"day_parts": ["1-0"]})
    assert response.status_code == 200
    entry = WaitlistEntry.objects.get()
    assert entry.appointment_id == result.appointment.pk
    assert client.get(reverse("waitlist:earlier", kwargs={"token": "f" * 64})).status_code == 404


# ---- the dashboard's selector -------------------------------------------------------------------------


def test_waiting_per_service(desk, service, monday_morning, django_assert_max_num_queries):
    other = ServiceFactory()
    for n in range(3):
        make_entry(location=desk, service=service, now=monday_morning, email=f"s{n}@example.org", persons=n + 1)
    make_entry(location=desk, service=other, now=monday_morning, email="o@example.org")
    gone = make_entry(location=desk, service=other, now=monday_morning, email="gone@example.org")
    WaitlistEntry.objects.filter(pk=gone.pk).update(status=EntryStatus.LEFT)
    with django_assert_max_num_queries(2):
        rows = selectors.waiting_per_service(desk, monday_morning)
    assert [(r.service.pk, r.waiting, r.persons) for r in rows] == [(service.pk, 3, 6), (other.pk, 1, 1)]
    assert selectors.waiting_per_service(make_desk(services=[service]), monday_morning) == []


# ---- the other changes that free counter time -----------------------------------------------------------


def test_a_move_offers_the_old_time(desk, service, full_tuesday, monday_morning):
    from bookings.actions import reschedule_appointment

    entry = make_entry(location=desk, service=service, now=monday_morning, day=TUESDAY)
    next_week = at(TUESDAY + timedelta(days=7), "10:00")
    reschedule_appointment(appointment=booked_at(full_tuesday, NINE), new_start=next_week, now=monday_morning)
    assert offer_of(entry).start == NINE


def test_an_ended_counter_block_offers_its_time(desk, service, monday_morning):
    from bookings.actions import block_counter, end_counter_block

    block = block_counter(
        counter=desk.counters.get(),
        start=at(TUESDAY, "08:00"),
        end=at(TUESDAY, "18:00"),
        reason="Ill",
        now=monday_morning,
        actor=None,
    )
    entry = make_entry(location=desk, service=service, now=monday_morning, day=TUESDAY)
    actions.scan_waitlist(now=monday_morning)
    assert offer_of(entry) is None  # the counter is blocked all day
    end_counter_block(block=block, now=monday_morning)
    assert offer_of(entry).start == NINE


def test_an_erasure_on_request_erases_the_waitlist_entries_too(offered, monday_morning):
    from bookings.actions import erase_personal_data

    first, second, offer = offered
    erase_personal_data(email="FIRST@example.org", now=monday_morning, actor=None)
    first.refresh_from_db()
    offer.refresh_from_db()
    assert (first.email, first.names, first.mailbox_key, first.status) == ("", [], "", EntryStatus.LEFT)
    assert offer.status == OfferStatus.WITHDRAWN
    second.refresh_from_db()
    assert second.email == "second@example.org"


@pytest.mark.parametrize("read", [selectors.entry_for_token, selectors.offer_for_token], ids=["entry", "offer"])
def test_a_plan_made_for_any_token_finds_the_message_by_index(postgresql, db, read):
    """As the fair-share count (tests/test_fairness.py): once a connection has prepared a link's look-up,
    PostgreSQL may plan it once for every token, and only the condition in its text that the token is not
    empty lets that plan use the index of the messages' non-empty tokens (waitlist_message_token)."""
    plan = generic_plan(*last_statement(lambda: read("a" * selectors.TOKEN_LENGTH)))
    assert "waitlist_message_token" in plan, plan
    assert "Seq Scan on waitlist_waitlistmessage" not in plan, plan
