"""The QR code of the booking reference: on the confirmation page (SVG data: URI) and in the e-mails (inline PNG).

No QR decoder is installed, so the images are read back module by module (PNG pixels, SVG path squares) and
compared with the matrix qrcode computes for the reference itself: the image holds exactly that text.
"""

import base64
import io
import re
from datetime import datetime

import pytest
import qrcode
from django.core import mail
from PIL import Image

from bookings import actions, emails, qr
from bookings.models import EmailKind, OutboxEmail
from tests.support.env import AMSTERDAM
from tests.support.public_flow import details_data, hold_first_time, page
from tests.support.urls import reverse

REFERENCE = "MAA-7KQ4-9XD2"
TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)


def matrix(reference: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=qr.BORDER)
    code.add_data(reference)
    code.make(fit=True)
    return code.get_matrix()


def png_modules(data: bytes, *, box: int) -> list[list[bool]]:
    image = Image.open(io.BytesIO(data)).convert("L")
    size = image.width // box
    assert image.width == image.height == size * box
    return [[image.getpixel((x * box + box // 2, y * box + box // 2)) < 128 for x in range(size)] for y in range(size)]


def svg_modules(svg: str) -> list[list[bool]]:
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
    cells = [[False] * size for _ in range(size)]
    for x, y in re.findall(r"M(\d+),(\d+)H", svg):
        cells[int(y)][int(x)] = True
    return cells


def test_the_png_holds_the_reference_and_nothing_else():
    assert png_modules(qr.reference_png(REFERENCE), box=6) == matrix(REFERENCE)
    assert png_modules(qr.reference_png(REFERENCE), box=6) != matrix("MAA-7KQ4-9XD3")
    # Typed in lower case or with spaces, the code is the same as for the reference itself.
    assert qr.reference_png(" maa-7kq4-9xd2 ") == qr.reference_png(REFERENCE)


def test_the_svg_holds_the_reference_and_has_no_style_attribute():
    svg = qr.reference_svg(REFERENCE).decode()
    assert svg_modules(svg) == matrix(REFERENCE)
    assert "style" not in svg  # CSP without 'unsafe-inline' styles
    uri = qr.reference_svg_data_uri(REFERENCE)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg


def test_the_confirmation_page_shows_the_qr_code_of_its_reference(client, desk, service):
    hold_first_time(client, service, 1)
    booked = client.post(reverse("bookings:details"), details_data(1))
    response = client.get(booked["Location"])  # the manage page, saying "you're booked" this first time
    assert response.status_code == 200
    appointment = response.context["appointment"]
    content = page(response)
    match = re.search(r'<img src="(data:image/svg\+xml;base64,[^"]+)" width="160" height="160" alt="([^"]+)"', content)
    assert match, "no QR code image on the confirmation page"
    svg = base64.b64decode(match.group(1).split(",", 1)[1]).decode()
    assert svg_modules(svg) == matrix(appointment.reference)
    assert appointment.reference in match.group(2)  # the alt text says what it is


def confirmation_message(desk, service, now, kind=EmailKind.CONFIRMATION):
    appointment = actions.book_appointment(
        location=desk,
        service=service,
        start=TUESDAY_9,
        names=[actions.PersonName("Ann", "Example")],
        contact_email="ann@example.org",
        now=now,
    ).appointment
    if kind != EmailKind.CONFIRMATION:
        appointment = actions.cancel_appointment(appointment=appointment, now=now)
    row = OutboxEmail.objects.get(appointment=appointment, kind=kind)
    return appointment, emails.build_message(row, now=now).message()


def test_the_confirmation_email_carries_the_qr_code_as_an_inline_png(desk, service, monday_morning):
    appointment, message = confirmation_message(desk, service, monday_morning)
    # mixed [ alternative [ text, related [ html, png ] ], calendar ]
    assert message.get_content_type() == "multipart/mixed"
    alternative, calendar = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert calendar.get_content_type() == "text/calendar"
    text, related = alternative.get_payload()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert image.get_content_type() == "image/png"
    content_id = image["Content-ID"].strip("<>")
    assert content_id == qr.content_id(appointment.reference)
    assert image.get_content_disposition() == "inline"
    html = html_part.get_payload(decode=True).decode()
    assert f'src="cid:{content_id}"' in html
    assert png_modules(image.get_payload(decode=True), box=6) == matrix(appointment.reference)
    assert "data:image" not in html  # phone mail apps block data: URIs


def test_a_cancellation_email_has_no_qr_code(desk, service, monday_morning):
    _appointment, message = confirmation_message(desk, service, monday_morning, kind=EmailKind.CANCELLATION)
    assert not [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert "cid:" not in message.as_string()


@pytest.mark.django_db
def test_the_sent_email_has_the_image_once(desk, service, monday_morning, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment, _message = confirmation_message(desk, service, monday_morning)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0].message()
    images = [part for part in sent.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    assert images[0]["Content-ID"] == f"<{qr.content_id(appointment.reference)}>"
