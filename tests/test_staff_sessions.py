"""Staff sessions: a new session key at the authenticator step, an idle session ends
(EXPATDESK_STAFF_IDLE_MINUTES), and HR staff land on their organisation's page after signing in."""

import time

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from desk.middleware import LAST_ACTIVITY_KEY
from employers import actions as employer_actions
from tests.support.desk import PASSWORD, desk_staff, sign_in, totp_device

pytestmark = pytest.mark.django_db


def code_for(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def hr_user() -> User:
    employer = employer_actions.sign_up_employer(
        name="Brightlands B.V.",
        sponsor_number="",
        contact_name="Hanna Rood",
        email="hr@brightlands.example",
        password=PASSWORD,
        now=timezone.now(),
    )
    employer_actions.approve_employer(employer=employer, now=timezone.now(), actor=None)
    return User.objects.get(username="hr@brightlands.example")


# ---- the session key rotates at the authenticator step ------------------------------------------


def test_the_session_key_changes_when_the_code_is_confirmed(client, desk):
    device = totp_device(desk_staff())
    client.post("/desk/login/", {"username": "desk", "password": PASSWORD})
    before = client.session.session_key
    response = client.post(reverse("desk:verify"), {"token": code_for(device), "next": "/desk/"})
    assert response.status_code == 302
    after = client.session.session_key
    assert after != before
    assert client.get("/desk/").status_code == 200  # still signed in, past the second factor


def test_the_session_key_changes_when_the_first_app_is_set_up(client):
    staff = desk_staff()
    client.post("/desk/login/", {"username": "desk", "password": PASSWORD})
    client.get(reverse("desk:totp_setup"))
    before = client.session.session_key
    device = staff.totpdevice_set.get()
    response = client.post(reverse("desk:totp_setup"), {"token": code_for(device), "next": "/desk/"})
    assert response.status_code == 302
    assert client.session.session_key != before


# ---- an idle session ends -----------------------------------------------------------------------


def idle_for(client, minutes: float) -> None:
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(time.time() - minutes * 60)
    session.save()


@pytest.mark.parametrize("url", ["/desk/", "/employer/"])
def test_an_idle_session_ends_after_thirty_minutes(client, desk, url):
    user = desk_staff() if url == "/desk/" else hr_user()
    sign_in(client, user)
    assert client.get(url).status_code == 200
    idle_for(client, 29)
    assert client.get(url).status_code == 200  # still active; and this counts as activity
    assert time.time() - client.session[LAST_ACTIVITY_KEY] < 5
    idle_for(client, 31)
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0].startswith(("/desk/login/", "/employer/login/"))
    assert "You were signed out after 30 minutes without activity." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_agendas_own_refresh_is_not_activity(client, desk):
    sign_in(client, desk_staff())
    idle_for(client, 20)
    fragment = f"/desk/day/?location={desk.pk}&day=2026-12-01"
    assert client.get(fragment, HTTP_X_REQUESTED_WITH="fetch").status_code == 200
    assert time.time() - client.session[LAST_ACTIVITY_KEY] >= 20 * 60 - 5  # not refreshed
    idle_for(client, 31)
    assert client.get(fragment, HTTP_X_REQUESTED_WITH="fetch").status_code == 302  # agenda.js reloads the page


def test_the_idle_time_is_a_setting(client, desk):
    sign_in(client, desk_staff())
    with override_settings(EXPATDESK_STAFF_IDLE_MINUTES=5):
        idle_for(client, 6)
        assert client.get("/desk/").status_code == 302
    sign_in(client, desk_staff("other"))
    with override_settings(EXPATDESK_STAFF_IDLE_MINUTES=0):  # 0: no timeout
        idle_for(client, 600)
        assert client.get("/desk/").status_code == 200


def test_activity_is_written_at_most_once_a_minute(client, desk):
    sign_in(client, desk_staff())
    client.get("/desk/")
    stamp = client.session[LAST_ACTIVITY_KEY]
    client.get("/desk/")
    assert client.session[LAST_ACTIVITY_KEY] == stamp


# ---- HR staff land on their organisation's bookings --------------------------------------------


@pytest.mark.parametrize("login", ["/desk/login/", "/desk/login/?next=/desk/", "/employer/login/"])
def test_hr_staff_land_on_their_bookings_after_signing_in(client, login):
    user = hr_user()
    device = totp_device(user)
    response = client.post(login, {"username": user.username, "password": PASSWORD}, follow=True)
    final = response.redirect_chain[-1][0]
    assert final == "/desk/verify/?next=%2Femployer%2F", response.redirect_chain
    response = client.post(final, {"token": code_for(device)})
    assert response.url == "/employer/"
    assert client.get("/employer/").status_code == 200


def test_desk_staff_still_land_on_the_agenda(client, desk):
    device = totp_device(desk_staff())
    response = client.post("/desk/login/", {"username": "desk", "password": PASSWORD}, follow=True)
    final = response.redirect_chain[-1][0]
    assert final == "/desk/verify/?next=%2Fdesk%2F"
    assert client.post(final, {"token": code_for(device)}).url == "/desk/"
