"""A family books one visit of several services on the public pages (issue 13): services → who needs each →
calendar → times → hold → details → confirmation; bad input is a 400 with a message, never a 500."""

import html
import re
from datetime import datetime

import pytest
from django.utils import timezone

from bookings import actions
from bookings.actions import PersonName
from bookings.models import Appointment, AppointmentPart, AppointmentStatus, EmailKind, OutboxEmail
from tests.support.configuration import forget_kept_configurations
from tests.support.public_flow import START_BUTTON, confirmed_token, details_data, lapse, page
from tests.support.urls import reverse
from tests.support.visit_flow import (
    choose_visit,
    hold_first_visit_time,
)
from tests.support.visits import family_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def family():
    return family_desk()


def test_the_start_page_leads_to_the_visit(client, family):
    response = client.get(reverse("bookings:start"))
    assert reverse("bookings:visit_start") in page(response)
    response = client.get(reverse("bookings:visit_start"))
    assert response.status_code == 200
    content = page(response)
    assert family.registration.name in content and family.biometrics.name in content


def test_a_family_books_registration_for_four_and_biometrics_for_two(client, family):
    appointment, times_url = hold_first_visit_time(
        client,
        persons=4,
        services=[family.registration, family.biometrics],
        who={family.biometrics.code: (1, 2)},
    )
    assert appointment.part_count == 2 and appointment.persons == 4
    parts = list(AppointmentPart.objects.filter(appointment=appointment).order_by("position"))
    assert [(p.service, p.persons) for p in parts] == [(family.registration, [1, 2, 3, 4]), (family.biometrics, [1, 2])]

    response = client.get(reverse("bookings:details"))
    assert response.status_code == 200
    content = page(response)
    for number in range(1, 5):  # every person's name once
        assert content.count(f'name="first_name_{number}"') == 1
    assert 'name="first_name_5"' not in content
    assert family.biometrics.name in content and "Person 2" in content
    # "Choose another time" goes back to the visit's own times page.
    assert "/book/visit/" in content

    response = client.post(reverse("bookings:details"), details_data(4))
    token = confirmed_token(response)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    response = client.get(reverse("bookings:manage", kwargs={"token": token}))
    content = page(response)
    assert "Your appointment is booked" in content
    assert content.count(appointment.reference) >= 1
    assert "Jane1 Doe-1, Jane2 Doe-2" in content  # biometrics: persons 1 and 2
    assert "Counter 1" in content  # biometrics is served on counter 1 only
    # One confirmation e-mail for the whole visit.
    assert OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.CONFIRMATION).count() == 1
    assert Appointment.objects.count() == 1

    response = client.get(reverse("bookings:manage", kwargs={"token": token}))  # the manage page itself
    content = page(response)
    assert "Your visit, part by part" in content and "Jane3 Doe-3" in content


def test_one_service_goes_to_todays_flow(client, family):
    response = client.post(reverse("bookings:visit_start"), {"persons": "3", "services": [family.registration.code]})
    assert response.status_code == 302
    assert (
        response["Location"]
        == reverse("bookings:questions", kwargs={"service_code": family.registration.code}) + "?persons=3"
    )


def test_what_to_bring_is_the_union_shown_before_booking(client, family):
    family.registration.what_to_bring_en = "Your passport; your rental contract."
    family.registration.save()
    family.biometrics.what_to_bring_en = "Your passport.\nThe IND letter."
    family.biometrics.save()
    calendar_url = choose_visit(client, persons=2, services=[family.registration, family.biometrics])
    content = page(client.get(calendar_url))
    items = re.findall(r"<li>([^<]+)</li>", content.split('class="bring-list"')[1].split("</ul>")[0])
    assert items == ["Your passport", "Your rental contract", "The IND letter"]


def test_persons_page_refuses_a_person_without_a_service(client, family):
    codes = [family.registration.code, family.biometrics.code]
    data = {
        "persons": "3",
        "service": codes,
        f"persons_{codes[0]}": ["1", "2"],
        f"persons_{codes[1]}": ["1"],
    }
    response = client.post(reverse("bookings:visit_persons"), data)
    assert response.status_code == 400
    assert "Every person needs at least one service" in page(response)


@pytest.mark.parametrize(
    "query, message",
    [
        ("persons=2&part=no-such:1,2&part={bio}:1", "There is no such service"),
        ("persons=2&part={reg}:1,2", "A visit has two or more services"),
        ("persons=3&part={reg}:1,2&part={bio}:1", "Every person needs at least one service"),
        ("persons=9&part={reg}:1,2&part={bio}:1", "A visit is for at most 6 persons"),
        ("persons=2&part={reg}:1,7&part={bio}:1", "not among the persons"),
        ("persons=2&part={reg}:1,x&part={bio}:1", "That visit is not valid"),
        ("persons=2&part={reg}&part={bio}:1", "That visit is not valid"),
        ("persons=two&part={reg}:1,2&part={bio}:1", "number of persons"),
        ("persons=2&part={reg}:1,2&part={reg}:1", "Each service appears once"),
    ],
)
def test_bad_visits_are_a_400_with_a_message(client, family, query, message):
    query = query.format(reg=family.registration.code, bio=family.biometrics.code)
    for url in (reverse("bookings:visit_calendar"), reverse("bookings:visit_times", kwargs={"day": "2030-01-07"})):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, url
        assert message in page(response)
    fields: dict[str, list[str]] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        fields.setdefault(name, []).append(value)
    response = client.post(reverse("bookings:visit_hold"), {**fields, "start": "2030-01-07T09:00:00+01:00"})
    assert response.status_code == 400
    assert message in page(response)
    assert not Appointment.objects.exists()


def test_a_service_the_location_does_not_offer(client, family):
    from tests.support.factories import ServiceFactory

    elsewhere = ServiceFactory()
    query = f"persons=1&part={family.registration.code}:1&part={elsewhere.code}:1"
    response = client.get(f"{reverse('bookings:visit_calendar')}?{query}")
    assert response.status_code == 400
    assert "cannot be booked at" in page(response)


def test_the_visit_calendar_is_shared_and_keyed_by_the_parts(client, family, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.EXPATDESK_SLOT_CACHE_SECONDS = 30
    services = [family.registration, family.biometrics]
    adults = choose_visit(client, persons=2, services=services, who={family.biometrics.code: (1, 2)})
    one = choose_visit(client, persons=2, services=services, who={family.biometrics.code: (1,)})
    forget_kept_configurations()
    with CaptureQueriesContext(connection) as first:
        client.get(adults)
    with CaptureQueriesContext(connection) as again:  # another visitor, the same visit: from the cache
        assert type(client)().get(adults).status_code == 200
    forget_kept_configurations()
    with CaptureQueriesContext(connection) as other_parts:  # other parts: computed afresh
        client.get(one)
    assert len(again) == 0 < len(first)  # the shared page, from the cache (bookings/shared_pages.py)
    assert len(other_parts) == len(first)


def test_a_lapsed_visit_whose_arrival_was_taken_offers_the_visits_nearest_arrivals(client, family):
    held, _times_url = hold_first_visit_time(
        client, persons=2, services=[family.registration, family.biometrics], who={family.biometrics.code: (1,)}
    )
    assert "Step 5 of 6" in page(client.get(reverse("bookings:details")))
    lapse(held)
    # Someone else takes all three counters at the visit's arrival.
    actions.book_appointment(
        location=family.location,
        service=family.registration,
        start=held.start,
        names=[PersonName("Other", "Person")] * 3,
        contact_email="other@example.org",
        now=timezone.now(),
    )
    response = client.post(reverse("bookings:details"), details_data(2))
    assert response.status_code == 409
    content = page(response)
    assert "Sorry, that time has just been taken." in content
    assert f'action="{reverse("bookings:visit_hold")}"' in content
    nearest = [html.unescape(v) for v in START_BUTTON.findall(content)]
    assert 1 <= len(nearest) <= 6 and held.start not in [datetime.fromisoformat(v) for v in nearest]
    fields = {"persons": "2", "part": [f"{family.registration.code}:1,2", f"{family.biometrics.code}:1"]}
    for name, value in fields.items():
        for one in [value] if isinstance(value, str) else value:
            assert f'name="{name}" value="{one}"' in content
    # A button holds the whole visit again, and the typed details book it.
    response = client.post(reverse("bookings:visit_hold"), {**fields, "start": nearest[0]})
    assert response.status_code == 302
    again = Appointment.objects.get(status=AppointmentStatus.HELD)
    assert again.part_count == 2 and again.start == datetime.fromisoformat(nearest[0])
    token = confirmed_token(client.post(reverse("bookings:details"), details_data(2)))
    assert "Step 6 of 6" in page(client.get(reverse("bookings:manage", kwargs={"token": token})))


def test_the_visit_hold_is_rate_limited_as_the_hold_of_one_service(client, family, settings):
    settings.EXPATDESK_RATE_HOLD = "3/h"
    data = {"persons": "1", "part": [f"{family.registration.code}:1", f"{family.biometrics.code}:1"], "start": "x"}
    answers = [client.post(reverse("bookings:visit_hold"), data) for _ in range(3)]
    assert all(answer.status_code != 429 for answer in answers)
    assert client.post(reverse("bookings:visit_hold"), data).status_code == 429


@pytest.mark.parametrize(
    "query, message",
    [
        ("persons=2&service={reg}", "A visit has two or more services"),
        ("persons=2&service={reg}&service=no-such", "There is no such service"),
        ("persons=0&service={reg}&service={bio}", "A visit is for at most 6 persons"),
        ("persons=&service={reg}&service={bio}", "number of persons"),
    ],
)
def test_the_persons_page_refuses_bad_choices(client, family, query, message):
    query = query.format(reg=family.registration.code, bio=family.biometrics.code)
    response = client.get(f"{reverse('bookings:visit_persons')}?{query}")
    assert response.status_code == 400
    assert message in page(response)
    response = client.post(reverse("bookings:visit_persons"), dict(pair.split("=") for pair in query.split("&")[:1]))
    assert response.status_code == 400


def test_more_persons_than_a_service_takes_is_refused(client, family):
    family.biometrics.max_persons = 1
    family.biometrics.save()
    codes = [family.registration.code, family.biometrics.code]
    data = {"persons": "2", "service": codes, f"persons_{codes[0]}": ["1", "2"], f"persons_{codes[1]}": ["1", "2"]}
    response = client.post(reverse("bookings:visit_persons"), data)
    assert response.status_code == 400
    assert f"{family.biometrics.name} is for at most 1 person per booking." in html.unescape(page(response))
    query = f"persons=2&part={codes[0]}:1,2&part={codes[1]}:1,2"
    response = client.get(f"{reverse('bookings:visit_calendar')}?{query}")
    assert response.status_code == 400
    assert "Too many persons for one of the services." in page(response)


def test_the_visit_start_form_refuses_nothing_chosen_and_unknown_services(client, family):
    response = client.post(reverse("bookings:visit_start"), {"persons": "2"})
    assert response.status_code == 400
    assert "Please choose at least one service." in page(response)
    response = client.post(reverse("bookings:visit_start"), {"persons": "2", "services": ["no-such"]})
    assert response.status_code == 400
    assert "Please choose the services from the list." in page(response)


def test_the_dutch_visit_pages_speak_dutch(client, family):
    client.cookies["django_language"] = "nl"
    response = client.get(reverse("bookings:visit_start"), HTTP_ACCEPT_LANGUAGE="nl")
    assert "Meerdere diensten in één bezoek" in page(response)
    response = client.get(
        f"{reverse('bookings:visit_calendar')}?persons=2&part=nope:1,2&part=x:1", HTTP_ACCEPT_LANGUAGE="nl"
    )
    assert response.status_code == 400
    assert "Deze dienst bestaat niet." in page(response)
