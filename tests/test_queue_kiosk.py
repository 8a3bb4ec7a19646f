"""The check-in kiosk and its device session: today / this location / not too early or late, the ticket, walk-ins,
no personal data beyond a first-name initial, signing in once, revocation; EN and NL."""

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from bookings.models import AppointmentStatus
from desk import clock
from queueing import devices
from queueing.models import Device, DeviceKind, Ticket, TicketKind
from tests.support.desk import book, desk_admin, sign_in
from tests.support.factories import make_desk
from tests.support.queue import MONDAY_MORNING, TUESDAY, at, sign_in_device


@pytest.fixture
def desk_time(monkeypatch):
    def set_time(moment):
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_time(at(9, 50))
    return set_time


@pytest.fixture
def kiosk(client, desk, desk_time):
    sign_in_device(client, desk, DeviceKind.KIOSK, now=at(9, 30))
    return client


@pytest.fixture
def booked(desk, service):
    return book(desk, service, at(10), now=MONDAY_MORNING, names=(("Zebedeus", "Oosterhuis-Verkaik"),))


def url(desk):
    return reverse("queueing:kiosk", args=[desk.slug])


def test_the_start_screen_has_an_autofocused_reference_field(kiosk, desk):
    page = kiosk.get(url(desk)).content.decode()
    assert 'name="reference"' in page and "autofocus" in page
    assert reverse("queueing:kiosk_walk_in", args=[desk.slug]) in page


def test_check_in_shows_the_ticket_and_only_a_first_name_initial(kiosk, desk, booked):
    response = kiosk.post(url(desk), {"reference": booked.reference.lower().replace("-", " ")})
    assert response.status_code == 200
    page = response.content.decode()
    ticket = Ticket.objects.get(appointment=booked)
    assert ticket.code in page and "Z." in page
    for personal in ("Zebedeus", "Oosterhuis", "anna@example.org", booked.reference):
        assert personal not in page
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CHECKED_IN and booked.checked_in_at == at(9, 50)
    # Back to the start screen after the timeout, without JavaScript.
    assert f'<noscript><meta http-equiv="refresh" content="20;url={url(desk)}"></noscript>' in page
    assert "queueing/kiosk.js" in page and f'data-timeout="20" data-start-url="{url(desk)}"' in page
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]


def test_checking_in_twice_shows_the_same_ticket(kiosk, desk, booked):
    kiosk.post(url(desk), {"reference": booked.reference})
    again = kiosk.post(url(desk), {"reference": booked.reference})
    assert again.status_code == 200
    assert Ticket.objects.count() == 1


def test_only_today(kiosk, desk, service, desk_time):
    tomorrow = book(desk, service, at(10, day=TUESDAY + timedelta(days=1)), now=MONDAY_MORNING)
    response = kiosk.post(url(desk), {"reference": tomorrow.reference})
    assert response.status_code == 400
    assert "not for today" in response.content.decode()
    assert not Ticket.objects.exists()


def test_only_this_location(kiosk, desk, service):
    elsewhere = make_desk(services=[service])
    theirs = book(elsewhere, service, at(10), now=MONDAY_MORNING)
    response = kiosk.post(url(desk), {"reference": theirs.reference})
    assert response.status_code == 400
    assert "another location" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.status == AppointmentStatus.BOOKED


def test_not_too_early_and_not_too_late(kiosk, desk, booked, desk_time):
    desk_time(at(9, 29))
    early = kiosk.post(url(desk), {"reference": booked.reference})
    assert early.status_code == 400 and "09:30" in early.content.decode()
    desk_time(at(10, 16))
    late = kiosk.post(url(desk), {"reference": booked.reference})
    assert late.status_code == 400 and "ask at the desk" in late.content.decode()
    with override_settings(EXPATDESK_KIOSK_LATE_MINUTES=30):
        assert kiosk.post(url(desk), {"reference": booked.reference}).status_code == 200


def test_unknown_or_empty_reference_is_a_clear_400(kiosk, desk):
    assert kiosk.post(url(desk), {"reference": "MAA-XXXX-YYYY"}).status_code == 400
    empty = kiosk.post(url(desk), {"reference": ""})
    assert empty.status_code == 400 and "Please scan or type" in empty.content.decode()


def test_a_walk_in_draws_a_ticket_where_capacity_allows(kiosk, desk, service):
    page = kiosk.get(reverse("queueing:kiosk_walk_in", args=[desk.slug])).content.decode()
    assert service.name_en in page
    response = kiosk.post(reverse("queueing:kiosk_walk_in", args=[desk.slug]), {"service": service.pk})
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.kind == TicketKind.WALK_IN and ticket.code in response.content.decode()
    assert ticket.appointment.status == AppointmentStatus.CHECKED_IN


def test_a_walk_in_is_refused_when_the_day_is_full(kiosk, desk, service, desk_time):
    desk_time(at(16, 59))
    response = kiosk.post(reverse("queueing:kiosk_walk_in", args=[desk.slug]), {"service": service.pk})
    assert response.status_code == 409
    assert not Ticket.objects.exists()


def test_a_bad_service_is_a_400(kiosk, desk):
    response = kiosk.post(reverse("queueing:kiosk_walk_in", args=[desk.slug]), {"service": "999999"})
    assert response.status_code == 400


def test_the_kiosk_speaks_dutch(kiosk, desk, booked):
    kiosk.post(reverse("set_language"), {"language": "nl", "next": url(desk)})
    response = kiosk.post(url(desk), {"reference": booked.reference})
    assert 'lang="nl"' in response.content.decode()
    assert "Uw volgnummer" in response.content.decode()


# ---- the device session ----------------------------------------------------------------------


def test_without_a_device_session_the_kiosk_says_how_to_sign_in(client, desk, booked, desk_time):
    response = client.get(url(desk))
    assert response.status_code == 403
    assert client.post(url(desk), {"reference": booked.reference}).status_code == 403
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED


def test_a_sign_in_link_works_once_and_only_stores_hashes(client, desk, desk_time):
    device, code = devices.create_device(
        location=desk, kind=DeviceKind.KIOSK, name="Entrance", now=at(9, 30), actor=None
    )
    link = reverse("queueing:device_sign_in", args=[code])
    assert client.get(link).status_code == 200  # a preview does not use it up
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == url(desk)
    cookie = response.cookies[devices.COOKIE_NAME]
    assert cookie["httponly"] and int(cookie["max-age"]) >= 300 * 24 * 3600
    device.refresh_from_db()
    assert code not in (device.sign_in_code_hash, device.token_hash) and device.sign_in_code_hash == ""
    assert device.token_hash and cookie.value.split(":")[0] not in device.token_hash
    assert client.get(url(desk)).status_code == 200
    other = type(client)()
    assert other.post(link).status_code == 400  # used up


def test_a_lapsed_sign_in_link_is_refused(client, desk, desk_time):
    _device, code = devices.create_device(location=desk, kind=DeviceKind.KIOSK, name="E", now=at(7), actor=None)
    desk_time(at(9))  # two hours later; links last an hour
    assert client.post(reverse("queueing:device_sign_in", args=[code])).status_code == 400


def test_a_kiosk_of_another_location_or_a_display_is_not_this_kiosk(client, desk, service, desk_time):
    elsewhere = make_desk(services=[service])
    sign_in_device(client, elsewhere, DeviceKind.KIOSK, now=at(9, 30))
    assert client.get(url(desk)).status_code == 403
    sign_in_device(client, desk, DeviceKind.DISPLAY, now=at(9, 30))
    assert client.get(url(desk)).status_code == 403


def test_a_forged_cookie_is_refused(client, desk, desk_time):
    client.cookies[devices.COOKIE_NAME] = "0" * 64
    assert client.get(url(desk)).status_code == 403


def test_revoking_signs_the_device_out_at_once(kiosk, desk, django_capture_on_commit_callbacks):
    assert kiosk.get(url(desk)).status_code == 200  # remembered in the cache now
    device = Device.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        devices.revoke_device(device=device, now=at(9, 55), actor=None)
    assert kiosk.get(url(desk)).status_code == 403
    device.refresh_from_db()
    assert device.revoked_at == at(9, 55) and device.token_hash == ""


def test_an_admin_creates_a_device_and_revokes_it_in_the_admin(
    desk, desk_time, client, django_capture_on_commit_callbacks
):
    admin_client = sign_in(Client(), desk_admin())
    response = admin_client.post(
        reverse("admin:queueing_device_add"),
        {"location": desk.pk, "kind": DeviceKind.DISPLAY, "name": "TV"},
        follow=True,
    )
    assert "errorlist" not in response.content.decode(), response.content.decode()[-6000:]
    device = Device.objects.get()
    link = next(str(m) for m in response.context["messages"]).split(": ", 1)[1]
    assert "/device/sign-in/" in link
    assert client.post(link.split("testserver", 1)[1]).status_code == 302
    display = reverse("queueing:display", args=[desk.slug])
    assert client.get(display).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:queueing_device_changelist"), {"action": "revoke", "_selected_action": [device.pk]}
        )
    assert client.get(display).status_code == 403
    device.refresh_from_db()
    assert device.created_by is not None and device.revoked_by == device.created_by
