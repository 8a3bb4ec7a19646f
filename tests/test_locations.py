"""Many locations in one installation (issue 12): each with its own services, rules, municipalities and
pages; the old addresses redirect; start page and availability cost the same whatever their number."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.ind_responses import PREFIX
from bookings import actions, availability, selectors
from bookings.actions import BookingError, OfferSpec, PersonName
from bookings.actions.configuration import SERVICE_IN_USE, ConfigurationRefused
from bookings.models import Appointment, AppointmentStatus, Closure, ConfigurationEvent, LocationService, SlotClaim
from bookings.municipalities import canonical_municipality
from tests.support.configuration import forget_kept_configurations
from tests.support.factories import LocationFactory, make_desk, offer
from tests.support.locations import EINDHOVEN_MUNICIPALITIES, make_two_desks, working_day
from tests.support.public_flow import confirmed_token, details_data, first_times_url, starts_on
from tests.support.urls import flow_url


@pytest.fixture
def two(db):
    return make_two_desks()


def _book(location, service, *, persons=1, municipality="", email="ann@example.org", days=3):
    now = timezone.now()
    day = working_day(now.astimezone(location.tz).date(), days=days)
    slots = availability.free_slots(
        location=location, service=service, persons=persons, start_date=day, end_date=day, now=now
    )[day]
    return actions.book_appointment(
        location=location,
        service=service,
        start=slots[0].start,
        names=[PersonName(first_name=f"Ann{n}", last_name="Example") for n in range(persons)],
        contact_email=email,
        municipality=municipality,
        now=now,
    )


def _public_booking(client, location, service, *, persons=1, municipality=None):
    """The whole public flow at `location`: questions → calendar → times → hold → details → manage page."""
    answers = {"persons": str(persons), **({"municipality": municipality} if municipality else {})}
    response = client.post(flow_url("questions", location, service_code=service.code), answers)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{location.slug}/book/{service.code}/calendar/")
    times_url = first_times_url(client, response["Location"])
    assert times_url.startswith(f"/{location.slug}/book/")
    start = starts_on(client, times_url)[0]
    response = client.post(flow_url("hold", location, service_code=service.code), {**answers, "start": start})
    assert response.status_code == 302
    assert response["Location"] == flow_url("details", location)
    response = client.post(flow_url("details", location), details_data(persons))
    token = confirmed_token(response)
    assert response["Location"] == flow_url("manage", location, token=token)
    return Appointment.objects.get(manage_token_hash__isnull=False, status=AppointmentStatus.BOOKED), token


# ---- per-location rules ---------------------------------------------------------------------


def test_each_location_offers_its_own_services_with_its_own_notice_and_horizon(two):
    now = timezone.now()
    today = now.astimezone(two.b.tz).date()
    snapshot_b = availability.load_snapshot(
        location=two.b, start_date=today, end_date=today + timedelta(days=30), now=now
    )
    assert snapshot_b.counters_for(two.advice) == []  # served at B's counters, but B does not offer it
    assert len(snapshot_b.counters_for(two.biometrics)) == 2
    assert snapshot_b.latest_bookable_day(two.biometrics) == today + timedelta(days=7)
    assert snapshot_b.earliest_start(two.biometrics) >= now + timedelta(hours=24)
    free_b = availability.free_days(
        location=two.b,
        service=two.biometrics,
        persons=1,
        start_date=today,
        end_date=today + timedelta(days=30),
        now=now,
    )
    assert free_b and max(free_b) <= today + timedelta(days=7)
    assert min(free_b) >= (now + timedelta(hours=24)).astimezone(two.b.tz).date()
    free_a = availability.free_days(
        location=two.a,
        service=two.biometrics,
        persons=1,
        start_date=today,
        end_date=today + timedelta(days=30),
        now=now,
    )
    assert max(free_a) > today + timedelta(days=7)  # A keeps the service's own horizon (42 days)
    assert (
        availability.free_days(
            location=two.b,
            service=two.advice,
            persons=1,
            start_date=today,
            end_date=today + timedelta(days=30),
            now=now,
        )
        == []
    )
    start = availability.free_slots(
        location=two.b, service=two.biometrics, persons=1, start_date=today, end_date=today + timedelta(7), now=now
    )
    start = next(iter(start.values()))[0].start
    with pytest.raises(BookingError) as refused:
        actions.hold_slot(location=two.b, service=two.advice, start=start, persons=1, now=now)
    assert refused.value.code == BookingError.COUNTER_INACTIVE


def test_availability_reads_the_offers_without_an_extra_query(two, django_assert_num_queries):
    now = timezone.now()
    today = now.astimezone(two.b.tz).date()
    forget_kept_configurations()
    # The configuration's version; counters with their offered services and rules, hours, closures; the claims'
    # versions and holds; the lasting claims of the days (forgotten with the configuration).
    with django_assert_num_queries(6):
        availability.free_slots(
            location=two.b, service=two.biometrics, persons=1, start_date=today, end_date=today + timedelta(7), now=now
        )


def test_municipalities_are_the_locations_own(two):
    assert canonical_municipality(location=two.b, value=" eindhoven ") == "Eindhoven"
    assert canonical_municipality(location=two.a, value="Eindhoven") is None
    assert canonical_municipality(location=two.a, value="heerlen") == "Heerlen"
    assert canonical_municipality(location=two.b, value="Heerlen") is None
    with pytest.raises(BookingError) as refused:
        _book(two.a, two.registration, municipality="Eindhoven")
    assert refused.value.code == BookingError.MUNICIPALITY_NOT_PARTICIPATING
    booked = _book(two.b, two.registration, municipality="best")
    assert booked.appointment.municipality == "Best"


def test_the_questions_offer_the_locations_municipalities_and_outside_names_the_other_location(two, client):
    page = client.get(flow_url("questions", two.b, service_code=two.registration.code)).content.decode()
    for name in EINDHOVEN_MUNICIPALITIES:
        assert f'value="{name}"' in page
    assert 'value="Maastricht"' not in page
    response = client.post(
        flow_url("questions", two.a, service_code=two.registration.code), {"persons": "1", "municipality": "other"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Maastricht" in page and "Expat Centre Eindhoven" in page and "Veldhoven" in page
    assert flow_url("questions", two.b, service_code=two.registration.code) in page


def test_a_service_the_location_does_not_offer_cannot_be_booked_there(two, client):
    response = client.get(flow_url("questions", two.b, service_code=two.advice.code))
    assert response.status_code == 302
    assert response["Location"] in {"/", flow_url("start", two.b)}
    page = client.get(flow_url("start", two.b)).content.decode()
    assert 'id="service-two-biometrics"' in page and 'id="service-two-advice"' not in page
    assert 'id="service-two-advice"' in client.get(flow_url("start", two.a)).content.decode()


def test_configure_location_changes_the_offers_and_refuses_to_strand_appointments(two):
    now = timezone.now()
    booked = _book(two.b, two.biometrics).appointment
    with pytest.raises(ConfigurationRefused) as refused:
        actions.configure_location(
            location=two.b, fields={}, offers=[OfferSpec(service_id=two.registration.pk)], now=now
        )
    assert refused.value.code == SERVICE_IN_USE
    assert refused.value.appointments == [booked]
    assert LocationService.objects.filter(location=two.b, service=two.biometrics).exists()
    actions.configure_location(
        location=two.b,
        fields={},
        offers=[
            OfferSpec(service_id=two.biometrics.pk, booking_horizon_days=14),
            OfferSpec(service_id=two.advice.pk),
        ],
        now=now,
    )
    assert {o.service_id: o.booking_horizon_days for o in two.b.offers.all()} == {
        two.biometrics.pk: 14,
        two.advice.pk: None,
    }
    assert ConfigurationEvent.objects.filter(location=two.b, kind="services_changed").count() == 1


def test_an_address_name_the_site_uses_itself_is_refused(db):
    with pytest.raises(ValidationError):
        actions.configure_location(
            location=None,
            fields={"name": "Admin", "slug": "admin", "short_code": "ADM", "street": "-", "postcode": "-", "city": "-"},
            now=timezone.now(),
        )


# ---- two locations side by side -------------------------------------------------------------


def test_each_public_flow_books_at_its_own_location_on_its_own_counters_with_its_own_links(
    two, client, settings, django_capture_on_commit_callbacks
):
    settings.EXPATDESK_SITE_URL = "https://book.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        appointment, token = _public_booking(client, two.b, two.biometrics, persons=2)
    assert appointment.location == two.b
    assert appointment.reference.startswith("EHV-")
    b_counters = set(two.b.counters.values_list("pk", flat=True))
    assert set(SlotClaim.objects.filter(appointment=appointment).values_list("counter_id", flat=True)) <= b_counters
    message = mail.outbox[-1]
    links = [word for word in message.body.split() if "/manage/" in word]
    assert links and all(link.startswith("https://book.example.org/eindhoven/manage/") for link in links)
    assert "Stadhuisplein 10" in message.body
    assert "desk@eindhoven.example.org" in message.body or message.reply_to == ["desk@eindhoven.example.org"]
    page = client.get(flow_url("manage", two.b, token=token)).content.decode()
    assert appointment.reference in page and "Stadhuisplein 10" in page


def test_a_booking_at_one_location_never_claims_the_others_counters(two):
    a_counters = set(two.a.counters.values_list("pk", flat=True))
    for persons in (1, 3, 6):
        booked = _book(two.a, two.biometrics, persons=persons, email=f"p{persons}@example.org")
        claimed = set(booked.appointment.claims.values_list("counter_id", flat=True))
        assert claimed and claimed <= a_counters


def test_a_closure_of_one_location_leaves_the_other_open(two):
    now = timezone.now()
    day = working_day(now.astimezone(two.a.tz).date(), days=4)
    actions.add_closure(location=two.b, start_date=day, end_date=day, reason="Staff training", now=now)
    assert Closure.objects.get().location == two.b
    assert (
        availability.free_slots(
            location=two.b, service=two.registration, persons=1, start_date=day, end_date=day, now=now
        )
        == {}
    )
    assert availability.free_slots(
        location=two.a, service=two.registration, persons=1, start_date=day, end_date=day, now=now
    )[day]


# ---- the start page -------------------------------------------------------------------------


def test_the_start_page_lists_the_locations_with_their_services_and_next_free_day(two, client):
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    for location in (two.a, two.b):
        assert location.display_name in page and location.city in page
        assert f'href="/{location.slug}/"' in page
    section_b = page[page.index('id="location-eindhoven"') :]
    assert two.biometrics.name_en in section_b.split("</li>")[0]
    assert two.advice.name_en not in section_b.split("</li>")[0]
    assert page.count("Next free day") == 2


def test_the_start_page_opens_the_only_location(db, service):
    desk = make_desk(services=[service], slug="heerlen")
    from django.test import Client

    response = Client().get("/")
    assert (response.status_code, response["Location"]) == (302, f"/{desk.slug}/")


def _start_page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def test_the_start_page_costs_the_same_queries_for_two_locations_as_for_eight(two, client, settings):
    settings.EXPATDESK_SLOT_CACHE_SECONDS = 0  # every request computes
    # The first request reads the configurations and, by the hour, the lasting claims of days this process has
    # not read yet (a location whose next free day lies beyond the first days looked at): compare the requests
    # after it.
    _start_page_queries(client)
    with_two = _start_page_queries(client)
    for number in range(6):
        make_desk(services=[two.biometrics], weekdays=tuple(range(7)), slug=f"extra-{number}")
    _start_page_queries(client)
    assert _start_page_queries(client) == with_two <= 8


def test_the_start_page_next_free_days_are_cached_under_the_location_versions(
    two, client, settings, django_capture_on_commit_callbacks
):
    settings.EXPATDESK_SLOT_CACHE_SECONDS = 60
    computed = _start_page_queries(client)
    cached = _start_page_queries(client)
    assert cached == 2 < computed  # the locations and their offers; the free days from the cache
    # A booking at B bumps B's version: its next free day is computed again (A's still comes from the cache).
    with django_capture_on_commit_callbacks(execute=True):
        _book(two.b, two.biometrics, days=2)
    assert _start_page_queries(client) > cached
    assert _start_page_queries(client) == cached


def test_availability_costs_the_same_queries_whatever_the_number_of_locations(two):
    now = timezone.now()
    today = now.astimezone(two.a.tz).date()

    def count() -> int:
        forget_kept_configurations()  # every location's configuration read afresh, in the same three queries
        with CaptureQueriesContext(connection) as queries:
            availability.free_slots(
                location=two.a,
                service=two.biometrics,
                persons=1,
                start_date=today,
                end_date=today + timedelta(30),
                now=now,
            )
            availability.first_free_days_at(locations=selectors.public_locations(), services=[two.biometrics], now=now)
        return len(queries)

    before = count()
    for number in range(5):
        make_desk(services=[two.biometrics], weekdays=tuple(range(7)), slug=f"more-{number}")
    assert count() == before


def test_the_next_free_days_of_all_locations_match_each_locations_own(two):
    now = timezone.now()
    found = availability.first_free_days_at(
        locations=[two.a, two.b], services=[two.biometrics, two.advice, two.registration], now=now
    )
    for location in (two.a, two.b):
        for service in (two.biometrics, two.advice, two.registration):
            assert found[location.pk][service.pk] == availability.first_free_day(
                location=location, service=service, now=now
            )
    assert found[two.b.pk][two.advice.pk] is None


# ---- old addresses, and addresses of another location ----------------------------------------


def test_the_old_addresses_redirect_to_the_default_location(two, client, settings):
    response = client.get(f"/book/{two.biometrics.code}/calendar/?persons=2")
    assert (response.status_code, response["Location"]) == (
        302,
        f"/maastricht/book/{two.biometrics.code}/calendar/?persons=2",
    )  # the oldest active location, whose addresses these were (not the first by name: Eindhoven)
    settings.EXPATDESK_DEFAULT_LOCATION = "eindhoven"
    assert client.get("/find/")["Location"] == "/eindhoven/find/"
    assert client.get(f"/book/{two.biometrics.code}/")["Location"] == f"/eindhoven/book/{two.biometrics.code}/"
    response = client.post("/book/details/", {"email": "x@example.org"})
    assert (response.status_code, response["Location"]) == (307, "/eindhoven/book/details/")


def test_an_old_manage_link_opens_the_booking_at_its_own_location(two, client, settings):
    settings.EXPATDESK_DEFAULT_LOCATION = "maastricht"
    result = _book(two.b, two.biometrics)
    token = result.manage_token
    response = client.get(f"/manage/{token}/")
    assert (response.status_code, response["Location"]) == (302, f"/eindhoven/manage/{token}/")
    assert result.appointment.reference in client.get(response["Location"]).content.decode()
    assert (
        client.get(f"/manage/{token}/move/?month=2030-01")["Location"]
        == f"/eindhoven/manage/{token}/move/?month=2030-01"
    )
    assert client.post(f"/manage/{token}/cancel/")["Location"] == f"/eindhoven/manage/{token}/cancel/"
    response = client.get(f"/manage/{'0' * 64}/")
    assert response["Location"] == f"/maastricht/manage/{'0' * 64}/"
    assert client.get(response["Location"]).status_code == 404


def test_a_token_of_one_location_is_never_acted_on_under_anothers_address(two, client):
    result = _book(two.b, two.biometrics)
    token = result.manage_token
    response = client.post(flow_url("cancel", two.a, token=token))
    assert (response.status_code, response["Location"]) == (302, flow_url("cancel", two.b, token=token))
    result.appointment.refresh_from_db()
    assert result.appointment.status == AppointmentStatus.BOOKED
    assert client.get(flow_url("manage", two.a, token=token))["Location"] == flow_url("manage", two.b, token=token)
    assert client.get(flow_url("ics", two.a, token=token))["Location"] == flow_url("ics", two.b, token=token)


def test_a_hold_of_one_location_is_never_confirmed_under_anothers_address(two, client):
    answers = {"persons": "1"}
    response = client.post(flow_url("questions", two.b, service_code=two.biometrics.code), answers)
    start = starts_on(client, first_times_url(client, response["Location"]))[0]
    client.post(flow_url("hold", two.b, service_code=two.biometrics.code), {**answers, "start": start})
    held = Appointment.objects.get(status=AppointmentStatus.HELD)
    response = client.post(flow_url("details", two.a), details_data(1))
    assert (response.status_code, response["Location"]) == (302, flow_url("details", two.b))
    held.refresh_from_db()
    assert (held.status, held.location) == (AppointmentStatus.HELD, two.b)


def test_an_unknown_or_inactive_location_is_not_a_booking_page(two, client):
    assert client.get("/nowhere/").status_code == 404
    assert client.get(f"/nowhere/book/{two.biometrics.code}/").status_code == 404
    inactive = LocationFactory(slug="closed-desk", is_active=False)
    response = client.get(f"/{inactive.slug}/")
    assert (response.status_code, response["Location"]) == (302, "/")


def test_the_language_switch_stays_at_the_location(two, client):
    response = client.post("/i18n/setlang/", {"language": "nl", "next": "/eindhoven/"})
    assert response["Location"] == "/eindhoven/"
    page = client.get("/eindhoven/").content.decode()
    assert '<html lang="nl">' in page and "Expat Centre Eindhoven" in page


def test_find_my_booking_works_per_location(two, client):
    response = client.post(flow_url("find", two.b), {"email": "ann@example.org", "reference": ""})
    assert (response.status_code, response["Location"]) == (302, flow_url("find", two.b))
    page = client.get(flow_url("find", two.b)).content.decode()
    assert "desk@eindhoven.example.org" in page


# ---- APIs -----------------------------------------------------------------------------------


def _ind(response) -> dict:
    content = response.content.decode()
    assert content.startswith(PREFIX), content
    return json.loads(content[len(PREFIX) :])


def test_the_ind_desk_list_names_every_location_offering_the_product(two, client):
    bio, advice = two.biometrics.code.upper(), two.advice.code.upper()  # product keys of services the IND lacks
    data = _ind(client.get(f"/oap/api/desks/?productKey={bio}"))["data"]
    assert {desk["key"] for desk in data} == {two.a.ind_desk_key, two.b.ind_desk_key}
    assert all(set(desk) == {"key", "version", "name"} for desk in data)
    assert [desk["key"] for desk in _ind(client.get(f"/oap/api/desks/?productKey={advice}"))["data"]] == [
        two.a.ind_desk_key
    ]
    # Slots at each desk; a product the desk does not offer is refused.
    slots_b = _ind(client.get(f"/oap/api/desks/{two.b.ind_desk_key}/slots/?productKey={bio}&persons=1"))["data"]
    today = timezone.now().astimezone(two.b.tz).date()
    assert slots_b and max(slot["date"] for slot in slots_b) <= (today + timedelta(days=7)).isoformat()
    response = client.get(f"/oap/api/desks/{two.b.ind_desk_key}/slots/?productKey={advice}&persons=1")
    assert response.status_code == 404
    assert _ind(response)["status"] != "OK"
    # A's slot key cannot be held at B.
    slot_a = _ind(client.get(f"/oap/api/desks/{two.a.ind_desk_key}/slots/?productKey={bio}&persons=1"))["data"][0]
    response = client.post(
        f"/oap/api/desks/{two.b.ind_desk_key}/slots/{slot_a['key']}", "{}", content_type="application/json"
    )
    assert response.status_code == 404
    response = client.post(
        f"/oap/api/desks/{two.b.ind_desk_key}/slots/{slots_b[0]['key']}", "{}", content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert Appointment.objects.get(status=AppointmentStatus.HELD).location == two.b


def test_api_v1_lists_the_locations_with_their_own_services(two, client):
    data = client.get("/api/v1/locations/").json()
    by_code = {location["short_code"]: location for location in data}
    assert set(by_code) == {"MAA", "EHV"}
    assert by_code["EHV"]["services"] == sorted(
        [two.registration.code, two.biometrics.code],
        key=lambda code: [two.registration.code, two.biometrics.code].index(code),
    )
    assert two.advice.code in by_code["MAA"]["services"]
    offers = {offer["code"]: offer for offer in by_code["EHV"]["offers"]}
    assert offers[two.biometrics.code]["booking_horizon_days"] == 7
    assert offers[two.biometrics.code]["minimum_notice_minutes"] == 24 * 60
    assert by_code["EHV"]["slug"] == "eindhoven"
    assert by_code["EHV"]["desk_key"] == two.b.ind_desk_key
    assert by_code["EHV"]["participating_municipalities"] == list(EINDHOVEN_MUNICIPALITIES)
    response = client.get(f"/api/v1/locations/EHV/services/{two.advice.code}/free-days/")
    assert response.status_code == 404
    days = client.get(f"/api/v1/locations/EHV/services/{two.biometrics.code}/free-days/").json()["days"]
    today = timezone.now().astimezone(two.b.tz).date()
    assert days and max(days) <= (today + timedelta(days=7)).isoformat()


def test_default_location_follows_the_setting(two, settings):
    assert selectors.default_location() == two.a  # the oldest, though "Expat Centre Eindhoven" sorts first
    settings.EXPATDESK_DEFAULT_LOCATION = "eindhoven"
    assert selectors.default_location() == two.b
    settings.EXPATDESK_DEFAULT_LOCATION = "gone"
    assert selectors.default_location() == two.a


def test_no_location_in_the_start_page_links_points_elsewhere(two, client):
    page = client.get(flow_url("start", two.b)).content.decode()
    links = set(re.findall(r'href="(/[^"]*/book/[^"]*)"', page))
    assert links and all(link.startswith("/eindhoven/") for link in links)


# ---- the admin --------------------------------------------------------------------------------


def test_the_admin_sets_the_offers_and_municipalities_through_the_action(client, admin_user, two):
    from bookings.models import Location
    from tests.support.admin import admin_url, location_post_data, management_forms_for_existing
    from tests.support.desk import sign_in

    admin = sign_in(client, admin_user)
    page = admin.get(admin_url(Location, "change", two.b.pk)).content.decode()
    assert 'name="offers-TOTAL_FORMS" value="2"' in page and 'name="municipalities"' in page
    data = location_post_data(two.b, municipalities="Eindhoven\nHelmond") | management_forms_for_existing(two.b)
    index = next(i for i in range(2) if data[f"offers-{i}-service"] == str(two.biometrics.pk))
    data[f"offers-{index}-booking_horizon_days"] = "10"
    data |= {"offers-TOTAL_FORMS": "3", "offers-2-service": str(two.advice.pk), "offers-2-location": str(two.b.pk)}
    response = admin.post(admin_url(Location, "change", two.b.pk), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    two.b.refresh_from_db()
    assert two.b.municipality_list == ("Eindhoven", "Helmond")
    assert two.b.offers.get(service=two.biometrics).booking_horizon_days == 10
    assert two.b.offers.filter(service=two.advice).exists()
    assert ConfigurationEvent.objects.filter(location=two.b, kind="services_changed").exists()


def test_changing_a_locations_offers_bumps_only_its_own_cache_version(two, django_capture_on_commit_callbacks):
    from bookings.cache import version_token

    before = {loc.pk: version_token(location_id=loc.pk) for loc in (two.a, two.b)}
    with django_capture_on_commit_callbacks(execute=True):
        actions.configure_location(
            location=two.b,
            fields={},
            offers=[OfferSpec(service_id=two.biometrics.pk), OfferSpec(service_id=two.registration.pk)],
            now=timezone.now(),
        )
    assert version_token(location_id=two.b.pk) != before[two.b.pk]
    assert version_token(location_id=two.a.pk) == before[two.a.pk]


def test_a_hold_beyond_the_services_own_horizon_is_confirmed_within_the_locations_longer_one(service, monday_morning):
    """The location's own horizon (LocationService) holds at confirmation too, not only when the time is held:
    the rules the confirmation reads carry the location's own notice and horizon."""
    desk = make_desk(services=[service])
    assert service.booking_horizon_days < 60
    offer(desk, [service], booking_horizon_days=90)
    start = datetime.combine(
        monday_morning.date() + timedelta(days=57), time(9, 0), tzinfo=desk.tz
    )  # a Tuesday, 57 days ahead
    held = actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)
    booked = actions.confirm_hold(
        appointment=held, names=[PersonName("Jane", "Doe")], contact_email="jane@example.org", now=monday_morning
    )
    assert booked.appointment.status == "booked"


def test_a_time_beyond_the_locations_own_horizon_is_refused_naming_that_horizon(service, monday_morning):
    desk = make_desk(services=[service])
    offer(desk, [service], booking_horizon_days=7)
    start = datetime.combine(monday_morning.date() + timedelta(days=15), time(9, 0), tzinfo=desk.tz)  # a Tuesday
    with pytest.raises(BookingError) as refused:
        actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)
    assert refused.value.code == BookingError.OUTSIDE_HORIZON
    assert "at most 7 days ahead" in str(refused.value)
