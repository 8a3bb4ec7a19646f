"""Abuse and slot hoarding (issue 5, point 1): rate limits, one live booking per e-mail and service, a cap
on live holds per client address, and the cool-down after repeated cancellations.

The test settings raise every limit so that the other tests never meet one; here each limit is set
with override_settings to a small real value. No test depends on timing: `now` is passed in, and a
rate-limit window of one hour cannot end during a test.
"""

from datetime import date, datetime, time, timedelta

import pytest
from django.test import RequestFactory, override_settings
from django.utils import timezone
from django_ratelimit.exceptions import Ratelimited

from bookings import abuse, actions
from bookings.actions import BookingError, PersonName
from bookings.models import Appointment, AppointmentEvent, AppointmentStatus, OutboxEmail, Person, SlotClaim
from expatdesk.ratelimits import RatelimitedMiddleware
from tests.support.env import AMSTERDAM, weekday_ahead
from tests.support.factories import ServiceFactory, offer
from tests.support.plans import generic_plan, last_statement
from tests.support.urls import reverse

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)
EMAIL = "Jane.Doe@Example.org"


def at(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def names(count: int = 1) -> list[PersonName]:
    return [PersonName(first_name=f"Person {index + 1}", last_name="Jansen") for index in range(count)]


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Appointment, SlotClaim, Person, AppointmentEvent, OutboxEmail)
    }


def book(desk, service, *, start: datetime, now: datetime, email: str = EMAIL, **kwargs):
    return actions.book_appointment(
        location=desk, service=service, start=start, names=names(), contact_email=email, now=now, **kwargs
    )


# ---- rate limits ------------------------------------------------------------------------------

RATE_LIMITED_POSTS = [
    ("EXPATDESK_RATE_HOLD", lambda service: reverse("bookings:hold", kwargs={"service_code": service.code})),
    ("EXPATDESK_RATE_CONFIRM", lambda service: reverse("bookings:details")),
    ("EXPATDESK_RATE_FIND", lambda service: reverse("bookings:find")),
    ("EXPATDESK_RATE_MANAGE", lambda service: reverse("bookings:cancel", kwargs={"token": "not-a-token"})),
    ("EXPATDESK_RATE_MANAGE", lambda service: reverse("bookings:reschedule", kwargs={"token": "not-a-token"})),
    ("EXPATDESK_RATE_LOGIN", lambda service: reverse("desk:login")),
    ("EXPATDESK_RATE_LOGIN", lambda service: reverse("desk:verify")),
]


@pytest.mark.parametrize(("setting", "url_of"), RATE_LIMITED_POSTS)
def test_each_limited_post_gets_a_friendly_429_after_its_rate(client, desk, service, setting, url_of):
    url = url_of(service)
    data = {"username": "someone", "password": "wrong", "reference": "MAA-0000-0000", "email": "a@example.org"}
    with override_settings(**{setting: "3/h"}):
        answers = [client.post(url, data) for _ in range(3)]
        assert all(answer.status_code != 429 for answer in answers)
        limited = client.post(url, data)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "no-store" in limited["Cache-Control"]
    body = limited.content.decode()
    assert "Too many attempts" in body
    assert 'href="/find/"' in body  # the page is the site's own page, with its links
    assert "<script>" not in body


def test_rate_limits_count_per_client_address(client, desk, service):
    url = reverse("bookings:find")
    with override_settings(EXPATDESK_RATE_FIND="1/h"):
        assert client.post(url, {}, REMOTE_ADDR="10.0.0.1").status_code != 429
        assert client.post(url, {}, REMOTE_ADDR="10.0.0.1").status_code == 429
        assert client.post(url, {}, REMOTE_ADDR="10.0.0.2").status_code != 429


def test_looking_at_a_limited_page_is_not_counted(client, desk, service):
    url = reverse("bookings:find")
    with override_settings(EXPATDESK_RATE_FIND="1/h"):
        for _ in range(5):
            assert client.get(url).status_code == 200
        assert client.post(url, {}).status_code != 429


def test_rate_limit_lets_requests_through_when_the_cache_is_down(client, desk, service, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr("expatdesk.ratelimits.get_usage", broken)
    with override_settings(EXPATDESK_RATE_FIND="1/h"):
        for _ in range(3):
            assert client.post(reverse("bookings:find"), {}).status_code != 429


def test_ratelimited_exception_anywhere_becomes_the_429_page(db):
    request = RequestFactory().post("/somewhere/")
    response = RatelimitedMiddleware(lambda r: None).process_exception(request, Ratelimited())
    assert response.status_code == 429
    assert response["Retry-After"] == "60"


# ---- one live booking per e-mail address and service --------------------------------------------


@override_settings(EXPATDESK_ONE_BOOKING_PER_EMAIL=True)
def test_a_second_live_booking_for_the_same_service_and_email_is_refused(desk, service, monday_morning):
    book(desk, service, start=at(TUESDAY, "09:00"), now=monday_morning)
    held = actions.hold_slot(
        location=desk, service=service, start=at(WEDNESDAY, "10:00"), persons=1, now=monday_morning
    )
    before = row_counts()
    with pytest.raises(BookingError) as refused:
        actions.confirm_hold(appointment=held, names=names(), contact_email="jane.doe@example.ORG", now=monday_morning)
    assert refused.value.code == BookingError.SIMILAR_APPOINTMENT_EXISTS
    assert row_counts() == before
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD  # the hold stays: the person may use another address
    with pytest.raises(BookingError) as direct:
        book(desk, service, start=at(WEDNESDAY, "11:00"), now=monday_morning, email=" JANE.DOE@example.org")
    assert direct.value.code == BookingError.SIMILAR_APPOINTMENT_EXISTS


@override_settings(EXPATDESK_ONE_BOOKING_PER_EMAIL=True)
def test_the_same_email_may_book_another_service_or_again_after_cancelling(desk, service, monday_morning):
    first = book(desk, service, start=at(TUESDAY, "09:00"), now=monday_morning).appointment
    other = ServiceFactory()
    for counter in desk.counters.all():
        counter.services.add(other)
        offer(counter.location, [other])
    book(desk, other, start=at(TUESDAY, "10:00"), now=monday_morning)
    actions.cancel_appointment(appointment=first, now=monday_morning)
    book(desk, service, start=at(TUESDAY, "11:00"), now=monday_morning)


@override_settings(EXPATDESK_ONE_BOOKING_PER_EMAIL=True)
def test_an_appointment_that_has_ended_does_not_block_a_new_one(desk, service, monday_morning):
    book(desk, service, start=at(TUESDAY, "09:00"), now=monday_morning)
    later = at(TUESDAY, "12:00")
    book(desk, service, start=at(WEDNESDAY, "09:00"), now=later)


@override_settings(EXPATDESK_ONE_BOOKING_PER_EMAIL=True)
def test_staff_may_book_past_the_one_booking_rule_with_the_explicit_flag(desk, service, monday_morning):
    book(desk, service, start=at(TUESDAY, "09:00"), now=monday_morning)
    second = book(desk, service, start=at(WEDNESDAY, "09:00"), now=monday_morning, enforce_customer_limits=False)
    assert second.appointment.status == AppointmentStatus.BOOKED


# ---- live holds per client address ------------------------------------------------------------


@override_settings(EXPATDESK_MAX_HOLDS_PER_IP=2)
def test_live_holds_per_client_address_are_capped(desk, service, monday_morning):
    def hold(clock: str, key: str):
        return actions.hold_slot(
            location=desk, service=service, start=at(TUESDAY, clock), persons=1, now=monday_morning, client_key=key
        )

    first = hold("09:00", "key-a")
    hold("09:15", "key-a")
    before = row_counts()
    with pytest.raises(BookingError) as refused:
        hold("09:30", "key-a")
    assert refused.value.code == BookingError.TOO_MANY_HOLDS
    assert row_counts() == before
    hold("09:30", "key-b")  # another address is not affected
    actions.cancel_appointment(appointment=first, now=monday_morning)
    hold("09:45", "key-a")  # a cancelled hold no longer counts


@override_settings(EXPATDESK_MAX_HOLDS_PER_IP=1)
def test_lapsed_and_booked_holds_do_not_count_as_holds(desk, service, monday_morning):
    held = actions.hold_slot(
        location=desk, service=service, start=at(TUESDAY, "09:00"), persons=1, now=monday_morning, client_key="k"
    )
    assert Appointment.objects.get(pk=held.pk).client_key == "k"
    actions.confirm_hold(appointment=held, names=names(), contact_email="a@example.org", now=monday_morning)
    # A booking keeps the key (its counter time counts against the address's fair share, issue 9) but
    # is no hold any more.
    assert Appointment.objects.get(pk=held.pk).client_key == "k"
    second = actions.hold_slot(
        location=desk, service=service, start=at(TUESDAY, "09:15"), persons=1, now=monday_morning, client_key="k"
    )
    later = second.hold_expires_at + timedelta(seconds=1)
    assert actions.expire_holds(now=later) == 1
    assert Appointment.objects.get(pk=second.pk).client_key == ""
    actions.hold_slot(location=desk, service=service, start=at(TUESDAY, "09:30"), persons=1, now=later, client_key="k")


def test_the_client_key_is_a_keyed_hash_of_the_address(rf):
    request = rf.get("/", REMOTE_ADDR="192.0.2.7")
    key = abuse.client_key_for(request)
    assert len(key) == 64 and "192.0.2.7" not in key
    assert key == abuse.client_key_for(rf.get("/", REMOTE_ADDR="192.0.2.7"))
    assert key != abuse.client_key_for(rf.get("/", REMOTE_ADDR="192.0.2.8"))


@override_settings(EXPATDESK_MAX_HOLDS_PER_IP=1)
def test_a_second_visitor_from_the_same_address_is_told_to_wait(client, django_user_model, desk, service):
    from django.test import Client

    from tests.support.public_flow import hold_first_time

    held, _times_url = hold_first_time(client, service, persons=1)
    assert held.client_key
    other = Client()
    answers = {"persons": "1"}
    response = other.post(reverse("bookings:questions", kwargs={"service_code": service.code}), answers)
    from tests.support.public_flow import first_times_url, starts_on

    times_url = first_times_url(other, response["Location"])
    start = starts_on(other, times_url)[1]
    response = other.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {**answers, "start": start}, follow=True
    )
    assert response.status_code == 200
    assert "Too many times are being held from your connection" in response.content.decode()
    assert Appointment.objects.filter(status=AppointmentStatus.HELD).count() == 1


# ---- cool-down after repeated cancellations ------------------------------------------------------


@override_settings(EXPATDESK_COOLDOWN_CANCELLATIONS=2, EXPATDESK_COOLDOWN_DAYS=30, EXPATDESK_COOLDOWN_HOURS=24)
def test_repeated_cancellations_start_a_cool_down_for_that_email(desk, service, monday_morning):
    for clock in ("09:00", "10:00"):
        booked = book(desk, service, start=at(TUESDAY, clock), now=monday_morning).appointment
        actions.cancel_appointment(appointment=booked, now=monday_morning, reason="cancelled online")
    before = row_counts()
    with pytest.raises(BookingError) as refused:
        book(
            desk,
            service,
            start=at(TUESDAY, "11:00"),
            now=monday_morning + timedelta(hours=1),
            email="jane.doe@EXAMPLE.org",
        )
    assert refused.value.code == BookingError.COOLDOWN
    assert row_counts() == before
    held = actions.hold_slot(location=desk, service=service, start=at(TUESDAY, "11:00"), persons=1, now=monday_morning)
    with pytest.raises(BookingError) as via_hold:
        actions.confirm_hold(appointment=held, names=names(), contact_email=EMAIL, now=monday_morning)
    assert via_hold.value.code == BookingError.COOLDOWN
    # Another address books as usual; the same one again once the cool-down is over.
    book(desk, service, start=at(TUESDAY, "13:30"), now=monday_morning, email="someone@example.org")
    book(desk, service, start=at(WEDNESDAY, "09:00"), now=monday_morning + timedelta(hours=24, minutes=1))


@override_settings(EXPATDESK_COOLDOWN_CANCELLATIONS=2)
def test_cancellations_by_staff_do_not_count_towards_the_cool_down(desk, service, monday_morning, django_user_model):
    staff = django_user_model.objects.create_user(username="desk", password="x" * 20, is_staff=True)
    for clock in ("09:00", "10:00"):
        booked = book(desk, service, start=at(TUESDAY, clock), now=monday_morning).appointment
        actions.cancel_appointment(appointment=booked, now=monday_morning, actor=staff)
    book(desk, service, start=at(TUESDAY, "11:00"), now=monday_morning)


@override_settings(EXPATDESK_COOLDOWN_CANCELLATIONS=2, EXPATDESK_ONE_BOOKING_PER_EMAIL=True)
def test_the_details_page_explains_a_refusal_and_keeps_the_hold(client, desk, service):
    from tests.support.public_flow import details_data, hold_first_time

    # The public pages run on the real clock, so the earlier booking is on a Wednesday a week or more ahead of
    # today (WEDNESDAY itself passes).
    book(desk, service, start=at(weekday_ahead(2, days=7), "16:00"), now=timezone.now())
    held, _ = hold_first_time(client, service, persons=1)
    response = client.post(reverse("bookings:details"), details_data(1, email="JANE.doe@example.org"))
    assert response.status_code == 409
    assert "There is already an appointment for this service with this e-mail address" in response.content.decode()
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD


def test_behind_trusted_proxies_the_client_address_comes_from_x_forwarded_for(client, desk, service):
    url = reverse("bookings:find")
    proxied = {"REMOTE_ADDR": "10.0.0.254"}
    with override_settings(EXPATDESK_RATE_FIND="1/h", EXPATDESK_TRUSTED_PROXIES=1):
        assert client.post(url, {}, HTTP_X_FORWARDED_FOR="203.0.113.1", **proxied).status_code != 429
        assert client.post(url, {}, HTTP_X_FORWARDED_FOR="203.0.113.2", **proxied).status_code != 429
        # A forged left-most address does not make a new client: the proxy's own entry counts.
        assert client.post(url, {}, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.1", **proxied).status_code == 429
    with override_settings(EXPATDESK_RATE_FIND="1/h", EXPATDESK_TRUSTED_PROXIES=0):
        assert client.post(url, {}, HTTP_X_FORWARDED_FOR="198.51.100.9", REMOTE_ADDR="10.0.0.9").status_code != 429
        assert client.post(url, {}, HTTP_X_FORWARDED_FOR="198.51.100.8", REMOTE_ADDR="10.0.0.9").status_code == 429


@pytest.mark.parametrize(
    ("index", "read"),
    [
        (
            "appointment_mailbox_key",
            lambda service, now: abuse.mailbox_standing(services=[service], email=EMAIL, now=now),
        ),
        ("appointment_client_key", lambda service, now: abuse.live_holds(client_key="address-a", now=now)),
    ],
    ids=["mailbox-standing", "live-holds"],
)
@override_settings(EXPATDESK_ONE_BOOKING_PER_EMAIL=True, EXPATDESK_COOLDOWN_CANCELLATIONS=2)
def test_a_plan_made_for_any_key_finds_the_appointments_by_index(
    postgresql, desk, service, monday_morning, index, read
):
    """As the fair-share count (tests/test_fairness.py): once prepared, the statement may be planned once for
    every key, and only a condition in its text that the key is not empty lets that plan use the index of the
    non-empty keys; without it, a booking's check read every appointment ever booked (120 ms against 0.15 with
    a million past ones: README, Performance)."""
    plan = generic_plan(*last_statement(lambda: read(service, monday_morning)))
    assert index in plan, plan
    assert "Seq Scan on bookings_appointment" not in plan, plan
