"""What the public IND clients trip over (issue 11) and the IND API's door to cross-site posts (issue 9).

The chunked bodies go through real servers: Django's own (pytest-django's live server, as runserver) and a
gunicorn process on a free port, each sent as raw HTTP by http.client.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection

from api.ind_responses import PREFIX
from bookings.models import Appointment, AppointmentStatus
from expatdesk.chunked import MalformedChunks, read_chunks
from services.models import Service
from tests.support.env import require, uses_postgresql
from tests.support.factories import make_desk

BASE_DIR = Path(django_settings.BASE_DIR)


def body(content: bytes) -> dict:
    assert content.startswith(PREFIX.encode())
    return json.loads(content[len(PREFIX) :])


@pytest.fixture
def maastricht(db):
    return make_desk(services=list(Service.objects.all()), short_code="MAA")


def first_slot(client, product: str = "BIO") -> dict:
    response = client.get(f"/oap/api/desks/MAA/slots/?productKey={product}&persons=1")
    return body(response.content)["data"][0]


def booking(slot: dict, product: str = "BIO", **appointment) -> dict:
    return {
        "bookableSlot": {**slot, "booked": False},
        "appointment": {
            "productKey": product,
            "date": slot["date"],
            "startTime": slot["startTime"],
            "endTime": slot["endTime"],
            "email": "jane@example.org",
            "phone": "+31 6 12345678",
            "language": "en",
            "customers": [{"firstName": "Jane", "lastName": "Doe", "bsn": "123456782", "vNumber": "9876543210"}],
            **appointment,
        },
    }


# ---- JSON only: a page on another site cannot make its visitors book ------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_cross_site_post_that_is_not_json_gets_415_and_books_nothing(client, maastricht, content_type):
    slot = first_slot(client)
    payload = json.dumps(booking(slot))
    for url in (f"/oap/api/desks/MAA/slots/{slot['key']}", "/oap/api/desks/MAA/appointments"):
        # What a form or fetch(..., {mode: "no-cors"}) on any web page can send without a preflight.
        response = client.generic("POST", url, payload, content_type=content_type, HTTP_ORIGIN="https://evil.example")
        assert response.status_code == 415, url
        assert body(response.content) == {"status": "ERROR", "errorCode": "UNSUPPORTED_MEDIA_TYPE"}
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_json_with_or_without_charset_is_accepted(client, maastricht, content_type):
    slot = first_slot(client)
    response = client.generic("POST", "/oap/api/desks/MAA/appointments", json.dumps(booking(slot)), content_type)
    assert response.status_code == 200
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_json_in_another_charset_is_refused(client, maastricht):
    slot = first_slot(client)
    payload = json.dumps(booking(slot)).encode("utf-16")
    response = client.generic(
        "POST", "/oap/api/desks/MAA/appointments", payload, content_type="application/json; charset=utf-16"
    )
    assert response.status_code == 415


# ---- the booking answer: the IND's appointment object ----------------------------------------------------


def test_the_booking_answer_is_the_inds_full_appointment_object_without_bsn_or_v_number(client, maastricht):
    slot = first_slot(client)
    response = client.post("/oap/api/desks/MAA/appointments", booking(slot), content_type="application/json")
    assert response.status_code == 200
    answer = body(response.content)
    assert answer["status"] == "OK"
    data = answer["data"]
    appointment = Appointment.objects.get()
    # What public clients type-check (e.g. a TypeScript client's BookAppointmentResponse).
    assert {
        key: type(value)
        for key, value in data.items()
        if key in {"key", "version", "code", "productKey", "email", "hasEmail", "phone", "language", "hasDetail"}
    } == {
        "key": str,
        "version": int,
        "code": str,
        "productKey": str,
        "email": str,
        "hasEmail": bool,
        "phone": str,
        "language": str,
        "hasDetail": bool,
    }
    assert (data["date"], data["startTime"], data["endTime"]) == (slot["date"], slot["startTime"], slot["endTime"])
    assert data["code"] == appointment.reference
    assert (data["productKey"], data["parts"], data["status"]) == ("BIO", 1, "BOOKED")
    assert (data["email"], data["hasEmail"], data["phone"]) == ("jane@example.org", True, "+31 6 12345678")
    assert data["customers"] == [{"firstName": "Jane", "lastName": "Doe", "fullName": "Jane Doe"}]
    text = response.content.decode()
    for never in ("123456782", "9876543210", "bsn", "vNumber", "vnumber", "birthDate"):
        assert never not in text


# ---- chunked bodies ----------------------------------------------------------------------------------------


def chunked(data: bytes, size: int = 5) -> bytes:
    pieces = [data[index : index + size] for index in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_chunks_are_decoded_with_extensions_and_trailers_and_bounded():
    stream = BytesIO(b"4;name=value\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\nNEXT REQUEST")
    assert read_chunks(stream.read, stream.readline, limit=100) == b"Wikipedia"
    assert stream.read() == b"NEXT REQUEST"  # nothing of what follows the body is taken
    stream = BytesIO(chunked(b"x" * 50))
    assert read_chunks(stream.read, stream.readline, limit=20) == b"x" * 21  # the limit and one byte more
    for broken in (b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nabc", b"3\r\nabcXY0\r\n\r\n", b"3"):
        stream = BytesIO(broken)
        with pytest.raises(MalformedChunks):
            read_chunks(stream.read, stream.readline, limit=100)


def test_a_chunked_body_larger_than_the_upload_limit_is_refused(client, maastricht, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    slot = first_slot(client)
    payload = json.dumps({**booking(slot), "padding": "x" * 2000}).encode()
    response = client.generic(
        "POST",
        "/oap/api/desks/MAA/appointments",
        payload,  # as a server that decoded the chunks gives it, with no length
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 400
    assert body(response.content) == {"status": "ERROR", "errorCode": "INVALID_JSON"}
    assert not Appointment.objects.exists()


# Through real servers.


def post_chunked(base_url: str, path: str, payload: dict) -> tuple[int, bytes]:
    """POST `payload` as JSON with Transfer-Encoding: chunked and no Content-Length, in small chunks."""
    parts = urlsplit(base_url)
    data = json.dumps(payload).encode()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            "POST",
            path,
            body=(data[index : index + 17] for index in range(0, len(data), 17)),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def hold_and_book_chunked(base_url: str, service) -> None:
    conn = http.client.HTTPConnection(urlsplit(base_url).hostname, urlsplit(base_url).port, timeout=30)
    product = service.code.upper()
    conn.request("GET", f"/oap/api/desks/CHK/slots/?productKey={product}&persons=1")
    slots = body(conn.getresponse().read())["data"]
    conn.close()
    status, content = post_chunked(base_url, f"/oap/api/desks/CHK/slots/{slots[0]['key']}", slots[0])
    assert status == 200, content
    held = body(content)["data"]
    assert Appointment.objects.get().status == AppointmentStatus.HELD
    status, content = post_chunked(base_url, "/oap/api/desks/CHK/appointments", booking(held, product=product))
    assert status == 200, content
    assert body(content)["data"]["code"] == Appointment.objects.get(status=AppointmentStatus.BOOKED).reference


@pytest.mark.django_db(transaction=True)
def test_a_chunked_post_is_read_under_djangos_own_server(live_server, service, settings):
    settings.EXPATDESK_API_WRITE_RATE = settings.EXPATDESK_API_POLL_RATE = "1000/m"
    make_desk(services=[service], short_code="CHK")
    hold_and_book_chunked(live_server.url, service)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_server(postgresql, transactional_db):
    """gunicorn serving this code against the test database (PostgreSQL: another process must see it)."""
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"DJANGO_SETTINGS_MODULE": "expatdesk.settings.test", "DATABASE_URL": url})
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "expatdesk.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, f"gunicorn did not start: {process.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "gunicorn did not start within 30 seconds"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_chunked_post_is_read_under_gunicorn(gunicorn_server, service):
    require(uses_postgresql(), "the gunicorn test needs PostgreSQL")
    make_desk(services=[service], short_code="CHK")
    hold_and_book_chunked(gunicorn_server, service)
