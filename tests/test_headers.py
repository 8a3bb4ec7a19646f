"""Headers and configuration (issue 5, point 2): the Content Security Policy, no inline script or style in any
served template, `Cache-Control: no-store` on every page with personal data, the production security
settings, and `check --deploy --fail-level WARNING` with the production settings.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from bookings import actions
from bookings.actions import PersonName
from bookings.availability import free_slots
from tests.support.desk import desk_admin, desk_staff, sign_in, totp_device
from tests.support.public_flow import confirmed_token, details_data, hold_first_time
from tests.support.urls import reverse

ROOT = Path(settings.BASE_DIR)
SERVED_TEMPLATE_DIRS = [ROOT / "templates", ROOT / "desk" / "templates", ROOT / "bookings" / "templates"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=", re.I)


def production_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "expatdesk.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/expatdesk",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    return env


# ---- Content Security Policy ---------------------------------------------------------------------


def test_every_page_carries_a_strict_content_security_policy(client, desk, service):
    policy = client.get(reverse("bookings:start"))["Content-Security-Policy"]
    directives = {part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == "default-src 'self'"
    assert directives["script-src"] == "script-src 'self'"
    assert directives["style-src"] == "style-src 'self'"
    assert directives["img-src"] == "img-src 'self' data:"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["form-action"] == "form-action 'self'"
    assert directives["base-uri"] == "base-uri 'self'"
    assert directives["object-src"] == "object-src 'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_served_template_has_inline_script_or_style():
    """E-mail templates are not served pages (mail apps need inline style): they are exempt."""
    offenders = []
    for folder in SERVED_TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            if "emails" in path.parts:
                continue
            text = path.read_text()
            for pattern in (INLINE_SCRIPT, INLINE_STYLE):
                offenders += [f"{path.relative_to(ROOT)}: {match.group(0)}" for match in pattern.finditer(text)]
    assert offenders == []


def assert_no_inline_code(response) -> None:
    body = response.content.decode()
    assert not INLINE_SCRIPT.search(body), INLINE_SCRIPT.search(body).group(0)
    assert not INLINE_STYLE.search(body), INLINE_STYLE.search(body).group(0)


def test_rendered_public_pages_have_no_inline_script_or_style(client, desk, service):
    """The rendered pages too: crispy-forms, widgets and template tags add markup of their own."""
    for url in (reverse("bookings:start"), reverse("bookings:find"), reverse("bookings:privacy")):
        assert_no_inline_code(client.get(url))
    assert_no_inline_code(client.get(reverse("bookings:questions", kwargs={"service_code": service.code})))
    held, times_url = hold_first_time(client, service, persons=2)
    assert_no_inline_code(client.get(times_url))
    assert_no_inline_code(client.get(reverse("bookings:details")))
    response = client.post(reverse("bookings:details"), details_data(2), follow=True)
    assert response.status_code == 200
    assert_no_inline_code(response)  # the confirmation, with its QR code as an <img>


def test_rendered_desk_pages_have_no_inline_script_or_style(client, desk, service):
    user = desk_admin()
    totp_device(user)
    sign_in(client, user)
    for name in ("desk:agenda", "desk:check_in", "desk:walk_in", "desk:capacity"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert_no_inline_code(response)


# ---- no-store on pages with personal data ------------------------------------------------------


def assert_no_store(response) -> None:
    assert "no-store" in response.get("Cache-Control", ""), response.get("Cache-Control")


def test_pages_with_personal_data_are_never_stored(client, desk, service):
    hold_first_time(client, service, persons=1)
    assert_no_store(client.get(reverse("bookings:details")))
    response = client.post(reverse("bookings:details"), details_data(1))
    confirmation = client.get(response["Location"])
    assert confirmation.status_code == 200
    assert_no_store(confirmation)
    token = confirmed_token(response)
    for name in ("bookings:manage", "bookings:cancel", "bookings:reschedule", "bookings:ics"):
        response = client.get(reverse(name, kwargs={"token": token}))
        assert response.status_code == 200, name
        assert_no_store(response)
    assert_no_store(client.get(reverse("bookings:find")))
    assert_no_store(client.post(reverse("bookings:find"), {"reference": "MAA-0000-0000", "email": "a@example.org"}))


def test_desk_and_admin_pages_are_never_stored(client, desk, service):
    now = timezone.now()
    actions.book_appointment(
        location=desk,
        service=service,
        start=_first_start(desk, service, now),
        names=[PersonName(first_name="Anna", last_name="Jansen")],
        contact_email="anna@example.org",
        now=now,
    )
    assert_no_store(client.get(reverse("desk:login")))
    user = desk_admin()
    totp_device(user)
    sign_in(client, user)
    for url in (reverse("desk:agenda"), reverse("admin:index"), reverse("admin:bookings_appointment_changelist")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_store(response)


def _first_start(desk, service, now):
    slots = free_slots(
        location=desk,
        service=service,
        persons=1,
        start_date=now.date(),
        end_date=now.date() + timedelta(days=14),
        now=now,
    )
    return next(slot.start for day in sorted(slots) for slot in slots[day])


def test_public_pages_without_personal_data_may_be_cached(client, desk, service):
    assert "no-store" not in client.get(reverse("bookings:start")).get("Cache-Control", "")


def test_desk_staff_without_admin_rights_get_no_store_too(client, desk, service):
    user = desk_staff()
    totp_device(user)
    sign_in(client, user)
    assert_no_store(client.get(reverse("desk:agenda")))


# ---- production settings -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def production_settings() -> dict:
    names = [
        "DEBUG",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REFERRER_POLICY",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "X_FRAME_OPTIONS",
        "SECURE_REDIRECT_EXEMPT",
    ]
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_turns_on_hsts_secure_cookies_and_a_strict_referrer_policy(production_settings):
    assert production_settings["DEBUG"] is False
    assert production_settings["SECURE_HSTS_SECONDS"] >= 31536000
    assert production_settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production_settings["SECURE_SSL_REDIRECT"] is True
    assert production_settings["SESSION_COOKIE_SECURE"] is True
    assert production_settings["SESSION_COOKIE_HTTPONLY"] is True
    assert production_settings["CSRF_COOKIE_SECURE"] is True
    assert production_settings["CSRF_COOKIE_HTTPONLY"] is True
    assert production_settings["SECURE_REFERRER_POLICY"] in {"same-origin", "no-referrer"}
    assert production_settings["X_FRAME_OPTIONS"] == "DENY"


def test_production_headers_and_cookies_are_sent(desk, service, production_settings):
    """The production values, applied here, give the headers and cookie flags on real responses."""
    values = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in production_settings.items()
        if name != "DEBUG"
    }
    # Behind the load balancer, which says so in X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER).
    https = Client(HTTP_X_FORWARDED_PROTO="https")
    with override_settings(**values):
        assert https.get(reverse("bookings:start"), HTTP_X_FORWARDED_PROTO="http").status_code == 301
        # The load balancer's health check over plain HTTP is answered, not redirected.
        assert https.get("/healthz", HTTP_X_FORWARDED_PROTO="http").status_code == 200
        find_page = https.get(reverse("bookings:find"))
        hold_first_time(https, service, persons=1)
        details_page = https.get(reverse("bookings:details"))
    assert find_page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert find_page["Referrer-Policy"] == production_settings["SECURE_REFERRER_POLICY"]
    assert find_page["X-Content-Type-Options"] == "nosniff"
    assert find_page["X-Frame-Options"] == "DENY"
    csrf_cookie = find_page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf_cookie["secure"] and csrf_cookie["httponly"]
    session_cookie = https.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["secure"] and session_cookie["httponly"]
    assert details_page.status_code == 200


def test_check_deploy_passes_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
