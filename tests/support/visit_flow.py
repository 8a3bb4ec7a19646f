"""A visit of several services through the public pages (Django test client), as a person clicks it."""

from __future__ import annotations

import html
import re

from bookings.models import Appointment, AppointmentStatus
from tests.support.public_flow import START_BUTTON, after_today, page
from tests.support.urls import reverse

VISIT_TIMES_LINK = re.compile(r'href="(/[a-z0-9-]+/book/visit/\d{4}-\d{2}-\d{2}/\?[^"]+)"')


def persons_data(persons: int, **who: tuple[int, ...]) -> dict[str, list[str]]:
    """The persons page's form: `who` maps a service code to its persons (everyone when left out)."""
    return {f"persons_{code}": [str(n) for n in numbers] for code, numbers in who.items()}


def choose_visit(client, *, persons: int, services: list, who: dict | None = None, municipality: str = "") -> str:
    """Services → persons per service; returns the visit calendar's address the persons page sends to."""
    codes = [service.code for service in services]
    response = client.post(reverse("bookings:visit_start"), {"persons": str(persons), "services": codes})
    assert response.status_code == 302, page(response)
    persons_url = response["Location"]
    response = client.get(persons_url)
    assert response.status_code == 200
    data = {"persons": str(persons), "service": codes}
    if persons > 1:
        for code in codes:
            data[f"persons_{code}"] = [str(n) for n in (who or {}).get(code, range(1, persons + 1))]
    if municipality:
        data["municipality"] = municipality
    response = client.post(reverse("bookings:visit_persons"), data)
    assert response.status_code == 302, page(response)
    return response["Location"]


def first_visit_times_url(client, calendar_url: str) -> str:
    response = client.get(calendar_url)
    assert response.status_code == 200, page(response)
    links = VISIT_TIMES_LINK.findall(page(response))
    assert links, "the visit calendar offers no day"
    return after_today(links)


def visit_starts_on(client, times_url: str) -> tuple[list[str], dict[str, list[str]]]:
    """The times offered on a visit's times page, and the hidden fields its form posts with them."""
    response = client.get(times_url)
    assert response.status_code == 200, page(response)
    content = page(response)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(persons|part|municipality)" value="([^"]*)">', content):
        fields.setdefault(name, []).append(html.unescape(value))
    return [html.unescape(value) for value in START_BUTTON.findall(content)], fields


def hold_first_visit_time(client, **choice) -> tuple[Appointment, str]:
    """Services → persons → calendar → times → hold of the first free arrival; the held visit and its
    times page."""
    times_url = first_visit_times_url(client, choose_visit(client, **choice))
    starts, fields = visit_starts_on(client, times_url)
    response = client.post(reverse("bookings:visit_hold"), {**fields, "start": starts[0]})
    assert response.status_code == 302, page(response)
    assert response["Location"] == reverse("bookings:details")
    return Appointment.objects.get(status=AppointmentStatus.HELD), times_url
