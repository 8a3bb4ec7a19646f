"""No free text where it does not belong (issue 9, point 3): names without control characters through every
door, the municipality only from the list and only where the service needs it, and two inputs that answered
500 (a time offset beyond ±15:59, JSON nested thousands deep)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from django.utils import timezone

from bookings import actions
from bookings.actions import BookingError, PersonName
from bookings.forms import DetailsForm
from bookings.models import Appointment, AppointmentStatus, Person
from desk.forms import WalkInForm
from tests.support.env import AMSTERDAM
from tests.support.factories import ServiceFactory, make_desk
from tests.support.public_flow import details_data, hold_first_time, starts_on
from tests.support.urls import reverse

TUESDAY_10 = datetime(2026, 12, 1, 10, 7, tzinfo=AMSTERDAM)

# Line breaks, a tab, NUL and other Cc; bidi embeddings, overrides and isolates; other invisible Cf.
CONTROL = [
    "\r",
    "\n",
    "\t",
    "\x00",
    "\x1b",
    "\x85",
    "\u2028",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u200b",
    "\ufeff",
]


def names_with(char: str) -> list[PersonName]:
    return [PersonName(first_name=f"Ja{char}ne", last_name="Doe")]


# ---- names ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_the_actions_refuse_control_characters_in_names(desk, service, monday_morning, char):
    with pytest.raises(BookingError) as refused:
        actions.book_appointment(
            location=desk,
            service=service,
            start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM),
            names=names_with(char),
            now=monday_morning,
        )
    assert refused.value.code == BookingError.NAMES_MISMATCH
    held = actions.hold_slot(
        location=desk,
        service=service,
        start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM),
        persons=1,
        now=monday_morning,
    )
    with pytest.raises(BookingError):
        actions.confirm_hold(
            appointment=held, names=names_with(char), contact_email="a@example.org", now=monday_morning
        )
    assert not Person.objects.exists()


def test_joiners_that_scripts_need_are_names_like_any_other(desk, service, monday_morning):
    persian = "محمد\u200cرضا"  # Mohammad-Reza, written with a zero-width non-joiner
    booked = actions.book_appointment(
        location=desk,
        service=service,
        start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM),
        names=[PersonName(first_name=persian, last_name="Doe")],
        now=monday_morning,
    )
    assert Person.objects.get(appointment=booked.appointment).first_name == persian


@pytest.mark.parametrize("char", ["\r\n", "\t", "\u202e"], ids=["CRLF", "tab", "RLO"])
def test_the_web_form_refuses_control_characters_with_a_translated_message(client, desk, service, char):
    held, _times = hold_first_time(client, service, persons=1)
    response = client.post(reverse("bookings:details"), details_data(1, last_name_1=f"Doe{char}Bcc: x"))
    assert response.status_code == 400
    assert "line breaks, tabs or other invisible control characters" in response.content.decode()
    assert Appointment.objects.get(pk=held.pk).status == AppointmentStatus.HELD
    client.cookies["django_language"] = "nl"
    dutch = client.post(reverse("bookings:details"), details_data(1, last_name_1=f"Doe{char}Smit"))
    assert "regeleinden, tabs of andere onzichtbare stuurtekens" in dutch.content.decode()


@pytest.mark.parametrize("char", ["\n", "\u2066"])
def test_the_desk_walk_in_form_refuses_control_characters(desk, service, char):
    form = WalkInForm(
        data={"location": desk.pk, "service": service.pk, "first_name_1": "Jane", "last_name_1": f"Doe{char}Smit"},
        locations=[desk],
        services=[service],
    )
    assert not form.is_valid()
    assert "last_name_1" in form.errors
    details = DetailsForm(data=details_data(1, first_name_1=f"J{char}ane"), persons=1)
    assert not details.is_valid() and "first_name_1" in details.errors


@pytest.mark.parametrize("char", ["\n", "\t", "\u202e"])
def test_api_v1_refuses_control_characters_in_names(client, desk, service, char):
    start = datetime(2026, 12, 8, 9, 0, tzinfo=AMSTERDAM)
    token = client.post(
        "/api/v1/holds/",
        {"location": desk.short_code, "service": service.code, "start": start.isoformat(), "persons": 1},
        content_type="application/json",
    ).json()["hold_token"]
    response = client.post(
        "/api/v1/bookings/",
        {
            "hold_token": token,
            "names": [{"first_name": f"Ja{char}ne", "last_name": "Doe"}],
            "email": "jane@example.org",
            "consent": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "names.0.first_name" in response.json()["fields"]


@pytest.mark.parametrize("char", ["\r\n", "\u202e", "\u200b"])
def test_the_ind_api_refuses_control_and_format_characters_in_names(client, desk, service, char):
    product = service.code.upper()
    slots = json.loads(client.get(f"/oap/api/desks/{desk.short_code}/slots/?productKey={product}").content[6:])
    payload = {
        "bookableSlot": slots["data"][0],
        "appointment": {"email": "jane@example.org", "customers": [{"firstName": f"Ja{char}ne", "lastName": "Doe"}]},
    }
    response = client.post(f"/oap/api/desks/{desk.short_code}/appointments", payload, content_type="application/json")
    assert response.status_code == 400
    assert not Appointment.objects.exists()


# ---- municipality ---------------------------------------------------------------------------------------


@pytest.fixture
def registration(db):
    return ServiceFactory(requires_municipality=True)


def test_a_municipality_is_stored_in_its_own_spelling_whatever_the_case(registration, monday_morning):
    desk = make_desk(services=[registration])
    held = actions.hold_slot(
        location=desk,
        service=registration,
        start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM),
        persons=1,
        municipality="  valkenburg AAN de geul ",
        now=monday_morning,
    )
    assert Appointment.objects.get(pk=held.pk).municipality == "Valkenburg aan de Geul"
    with pytest.raises(BookingError) as refused:
        actions.hold_slot(
            location=desk,
            service=registration,
            start=datetime(2026, 12, 1, 10, 0, tzinfo=AMSTERDAM),
            persons=1,
            municipality="Amsterdam",
            now=monday_morning,
        )
    assert refused.value.code == BookingError.MUNICIPALITY_NOT_PARTICIPATING


def test_the_desk_walk_in_takes_heerlen_as_heerlen(registration):
    desk = make_desk(services=[registration])
    result = actions.walk_in(
        location=desk,
        service=registration,
        names=[PersonName("Jan", "Smit")],
        municipality="heerlen",
        now=TUESDAY_10,
        actor=None,
    )
    assert Appointment.objects.get(pk=result.appointment.pk).municipality == "Heerlen"


def test_a_service_without_the_rule_keeps_no_municipality_from_any_door(client, desk, service, monday_morning):
    """Free text typed as the municipality for a service that does not ask for one (names, numbers) is
    not stored: anonymisation keeps the municipality, so it must never hold anything but the list."""
    typed = "Jane Doe, BSN 123456782"
    held = actions.hold_slot(
        location=desk,
        service=service,
        start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM),
        persons=1,
        municipality=typed,
        now=monday_morning,
    )
    assert Appointment.objects.get(pk=held.pk).municipality == ""
    start = datetime(2026, 12, 8, 9, 0, tzinfo=AMSTERDAM)
    api = client.post(
        "/api/v1/holds/",
        {
            "location": desk.short_code,
            "service": service.code,
            "start": start.isoformat(),
            "persons": 1,
            "municipality": typed,
        },
        content_type="application/json",
    )
    assert api.status_code == 201
    product = service.code.upper()
    slot = json.loads(client.get(f"/oap/api/desks/{desk.short_code}/slots/?productKey={product}").content[6:])["data"][
        0
    ]
    ind = client.post(
        f"/oap/api/desks/{desk.short_code}/slots/{slot['key']}",
        {**slot, "municipality": typed},
        content_type="application/json",
    )
    assert ind.status_code == 200
    assert set(Appointment.objects.values_list("municipality", flat=True)) == {""}


# ---- inputs that answered 500 ---------------------------------------------------------------------------


@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+23:59", "-23:59"])
def test_a_time_offset_beyond_postgresqls_range_is_no_500_in_the_hold_and_move_forms(client, desk, service, offset):
    held, _times = hold_first_time(client, service, persons=1)
    booked = client.post(reverse("bookings:details"), details_data(1))
    token = booked["Location"].split("/")[3]  # /<location>/manage/<token>/
    start = f"2026-12-01T09:00:00{offset}"
    hold = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": "1", "start": start}
    )
    move = client.post(reverse("bookings:reschedule", kwargs={"token": token}), {"start": start})
    for response in (hold, move):
        assert response.status_code in (302, 400, 409), response.status_code
    assert Appointment.objects.get(pk=held.pk).status == AppointmentStatus.BOOKED


def test_deeply_nested_json_on_api_v1_is_a_parse_error(client, desk, service):
    for path in ("/api/v1/holds/", "/api/v1/bookings/"):
        response = client.post(path, "[" * 100_000 + "]" * 100_000, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"


def test_a_time_written_with_another_offset_holds_the_same_instant(client, desk, service):
    _held, times_url = hold_first_time(client, service, persons=1)
    free = starts_on(client, times_url)[-1]
    instant = datetime.fromisoformat(free)
    written = instant.astimezone(timezone.get_fixed_timezone(14 * 60)).isoformat()  # the same moment, at +14:00
    assert written != free
    response = client.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": "1", "start": written}
    )
    assert response["Location"] == reverse("bookings:details")
    assert Appointment.objects.get(status=AppointmentStatus.HELD).start == instant
