"""The QR code of a booking reference, for the confirmation page and e-mails. Rendering only: no DB access.

The code holds the reference and nothing else (no name, no link), so a scanner at the desk types it into
the check-in field like a keyboard. On the page it is an SVG in a data: URI (`img-src 'self' data:`, no
inline style needed); in e-mail a PNG attached inline (Content-ID), because most phone mail apps block
data: URIs.
"""

from __future__ import annotations

import base64
import io
from email.mime.image import MIMEImage

import qrcode
import qrcode.image.pil
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

# Quiet zone of 4 modules, as the QR standard asks, so phone and hand scanners read it from paper and screens.
BORDER = 4


def _code(reference: str, *, box_size: int = 10) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER, box_size=box_size)
    code.add_data(reference.strip().upper())
    code.make(fit=True)
    return code


def reference_svg(reference: str) -> bytes:
    """The QR code as a standalone SVG document (one path, no style attributes)."""
    image = _code(reference).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return image.to_string()


def reference_svg_data_uri(reference: str) -> str:
    """For <img src=...> on a page whose CSP allows `img-src data:`."""
    return "data:image/svg+xml;base64," + base64.b64encode(reference_svg(reference)).decode("ascii")


def reference_png(reference: str, *, box_size: int = 6) -> bytes:
    image = _code(reference, box_size=box_size).make_image(
        image_factory=qrcode.image.pil.PilImage, fill_color="black", back_color="white"
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def content_id(reference: str) -> str:
    """The Content-ID of the inline PNG (without angle brackets); the HTML refers to it as cid:..."""
    return f"qr-{reference.strip().upper()}@expatdesk"


def reference_png_part(reference: str) -> MIMEImage:
    """The PNG as an inline MIME part, to go in a multipart/related next to the HTML."""
    part = MIMEImage(reference_png(reference), "png")
    part.add_header("Content-ID", f"<{content_id(reference)}>")
    part.add_header("Content-Disposition", "inline", filename=f"{reference.strip().upper()}-qr.png")
    return part
