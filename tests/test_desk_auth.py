"""Staff sign-in: password throttled by django-axes, then a TOTP code (django-otp)."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.desk import PASSWORD, desk_admin, desk_staff, sign_in, totp_device

LOGIN = "/desk/login/"


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def password_login(client, username: str, password: str = PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


@pytest.mark.django_db
def test_first_sign_in_sets_up_the_authenticator_app_then_reaches_the_agenda(client, desk):
    staff = desk_staff()
    response = password_login(client, "desk")
    assert response.status_code == 302
    assert client.get("/desk/").url.startswith(reverse("desk:verify"))
    response = client.get(reverse("desk:verify"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("desk:totp_setup"))
    page = client.get(response.url)
    assert page.status_code == 200
    assert b"<svg" in page.content  # the QR code, inline
    device = TOTPDevice.objects.get(user=staff)
    assert not device.confirmed

    wrong = client.post(reverse("desk:totp_setup"), {"token": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/desk/").status_code == 302

    device.throttle_reset()
    response = client.post(reverse("desk:totp_setup"), {"token": code_for(device), "next": "/desk/"})
    assert response.status_code == 302
    assert response.url == "/desk/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/desk/").status_code == 200


@pytest.mark.django_db
def test_sign_in_with_a_device_asks_for_its_code(client, desk):
    staff = desk_staff()
    device = totp_device(staff)
    password_login(client, "desk")
    response = client.post(reverse("desk:verify"), {"token": "12345x"})
    assert response.status_code == 400
    assert b"6 digits" in response.content
    assert client.get("/desk/").status_code == 302
    response = client.post(reverse("desk:verify"), {"token": code_for(device), "next": "/desk/"})
    assert response.status_code == 302
    assert client.get("/desk/").status_code == 200


@pytest.mark.django_db
def test_a_second_device_cannot_be_added_with_the_password_alone(client):
    staff = desk_staff()
    totp_device(staff)
    password_login(client, "desk")
    response = client.get(reverse("desk:totp_setup"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("desk:verify"))
    assert TOTPDevice.objects.filter(user=staff).count() == 1


@pytest.mark.django_db
def test_a_wrong_code_is_throttled_by_the_device(client):
    staff = desk_staff()
    device = totp_device(staff)
    password_login(client, "desk")
    right = code_for(device)
    wrong = "000000" if right != "000000" else "111111"
    assert client.post(reverse("desk:verify"), {"token": wrong}).status_code == 400
    # Right after a failure the device refuses even the right code for a while.
    assert client.post(reverse("desk:verify"), {"token": right}).status_code == 400
    assert client.get("/desk/").status_code == 302


@pytest.mark.django_db
@override_settings(EXPATDESK_REQUIRE_2FA=True)
def test_with_2fa_required_a_password_only_session_cannot_reach_the_desk_or_the_admin(client):
    admin = desk_admin()
    sign_in(client, admin, second_factor=False)
    response = client.get("/desk/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("desk:verify"))
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/bookings/appointment/").status_code == 302


@pytest.mark.django_db
@override_settings(EXPATDESK_REQUIRE_2FA=False)
def test_the_demo_may_relax_the_second_factor(client, desk):
    sign_in(client, desk_staff(), second_factor=False)
    assert client.get("/desk/").status_code == 200


def _production_settings(**extra: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "expatdesk.settings.production",
        "DJANGO_SECRET_KEY": "x" * 64,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        **extra,
    }
    code = "import django; django.setup(); from django.conf import settings; print(settings.EXPATDESK_REQUIRE_2FA)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )


def test_production_requires_the_second_factor_by_default():
    result = _production_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("True")


def test_production_refuses_to_start_with_the_second_factor_switched_off():
    result = _production_settings(EXPATDESK_REQUIRE_2FA="false")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "EXPATDESK_REQUIRE_2FA" in result.stderr


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=timedelta(minutes=30))
def test_a_locked_out_account_stays_locked_for_the_configured_time(client):
    desk_staff()
    for _attempt in range(2):
        assert password_login(client, "desk", "wrong password").status_code == 200  # the form again
    assert password_login(client, "desk", "wrong password").status_code == 429  # the third locks it
    locked = password_login(client, "desk")  # the right password, but locked out
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert "_auth_user_id" not in client.session

    # 29 minutes later it is still locked.
    attempt = AccessAttempt.objects.get(username="desk")
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - timedelta(minutes=29))
    assert password_login(client, "desk").status_code == 429
    # Another account from the same address is not locked (username + address).
    desk_staff("other")
    assert password_login(client, "other").status_code == 302

    # Every attempt while locked counts as a failure too, so the 30 minutes run from the last one.
    # 31 minutes after it, the right password works again.
    client.logout()
    attempt = AccessAttempt.objects.get(username="desk")
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - timedelta(minutes=31))
    response = password_login(client, "desk")
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_axes_and_otp_are_wired_as_documented():
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    middleware = settings.MIDDLEWARE
    assert middleware.index("django_otp.middleware.OTPMiddleware") > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )
    assert "axes.middleware.AxesMiddleware" in middleware
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.django_db
def test_the_admin_signs_in_through_the_desk_password_then_code(client):
    admin = desk_admin()
    device = totp_device(admin)
    response = client.get("/admin/bookings/location/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/desk/login/?next=")
    client.post(LOGIN, {"username": "boss", "password": PASSWORD, "next": "/admin/bookings/location/"})
    response = client.get("/admin/bookings/location/", follow=True)
    final = response.redirect_chain[-1][0]
    assert final.startswith("/desk/verify/?next=")
    response = client.post(final, {"token": code_for(device)})
    assert response.status_code == 302
    assert response.url == "/admin/bookings/location/"
    assert client.get(response.url).status_code == 200


@pytest.mark.django_db
def test_desk_staff_who_open_the_admin_are_refused_not_asked_to_sign_in_again(client):
    sign_in(client, desk_staff())
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_page_asked_for_survives_the_second_factor_with_its_query(client):
    staff = desk_staff()
    device = totp_device(staff)
    password_login(client, "desk")
    wanted = "/desk/?location=1&day=2026-12-01"
    response = client.get(wanted)
    assert response.status_code == 302
    response = client.post(response.url, {"token": code_for(device)})
    assert response.url == wanted


@pytest.mark.django_db
def test_the_second_factor_never_sends_people_to_another_site(client):
    staff = desk_staff()
    device = totp_device(staff)
    password_login(client, "desk")
    response = client.post(reverse("desk:verify") + "?next=https://evil.example/", {"token": code_for(device)})
    assert response.url == "/desk/"
