"""The public booking flow's steps through the Django test client, read from the pages as a person reads them."""

import html
import re
from datetime import timedelta

from django.utils import timezone

from bookings.models import Appointment, AppointmentStatus, SlotClaim
from tests.support.urls import reverse

DAY_IN_LINK = re.compile(r"/(\d{4}-\d{2}-\d{2})/")
TIMES_LINK = re.compile(r'href="(/[a-z0-9-]+/book/[a-z0-9-]+/\d{4}-\d{2}-\d{2}/\?[^"]+)"')
START_BUTTON = re.compile(r'name="start" value="([^"]+)"')


def page(response) -> str:
    return response.content.decode()


def after_today(links: list[str]) -> str:
    """The first of the calendar's day links after today (else the first): today's times run out as the
    clock moves, so a test that books one of them would depend on the minute it runs."""
    today = timezone.localdate().isoformat()
    later = [link for link in links if DAY_IN_LINK.search(link).group(1) > today]
    return html.unescape((later or links)[0])


def first_times_url(client, calendar_url: str) -> str:
    response = client.get(calendar_url)
    assert response.status_code == 200
    links = TIMES_LINK.findall(page(response))
    assert links, "the calendar offers no day"
    return after_today(links)


def starts_on(client, times_url: str) -> list[str]:
    response = client.get(times_url)
    assert response.status_code == 200
    return [html.unescape(value) for value in START_BUTTON.findall(page(response))]


def details_data(persons: int, **extra) -> dict[str, str]:
    data = {"email": "jane@example.org", "phone": "+31 6 12345678", "language": "en", "consent": "on"}
    for number in range(1, persons + 1):
        data[f"first_name_{number}"] = f"Jane{number}"
        data[f"last_name_{number}"] = f"Doe-{number}"
    data.update(extra)
    return data


def hold_first_time(client, service, persons: int, municipality: str | None = None) -> tuple[Appointment, str]:
    """Questions → calendar → times → hold; returns the held appointment and the times page URL."""
    answers = {"persons": str(persons)}
    if municipality:
        answers["municipality"] = municipality
    response = client.post(reverse("bookings:questions", kwargs={"service_code": service.code}), answers)
    assert response.status_code == 302
    times_url = first_times_url(client, response["Location"])
    start = starts_on(client, times_url)[0]
    response = client.post(reverse("bookings:hold", kwargs={"service_code": service.code}), {**answers, "start": start})
    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:details")
    return Appointment.objects.get(status=AppointmentStatus.HELD), times_url


def lapse(appointment: Appointment) -> None:
    """Make the hold lapse without changing the clock: its expiry moves into the past."""
    past = timezone.now() - timedelta(minutes=1)
    Appointment.objects.filter(pk=appointment.pk).update(hold_expires_at=past)
    SlotClaim.objects.filter(appointment=appointment).update(expires_at=past)


MANAGE_PATH = re.compile(r"/[a-z0-9-]+/manage/([0-9a-f]{64})/")


def confirmed_token(response) -> str:
    """The details form booked: it redirects to the booking's manage page (which says "you're booked" on
    this first visit); the token of that address, the only place it is (issue 9)."""
    assert response.status_code == 302, response.status_code
    match = MANAGE_PATH.fullmatch(response["Location"])
    assert match, response["Location"]
    return match.group(1)
