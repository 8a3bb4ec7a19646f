"""Render the waitlist's e-mails (HTML + plain text, in the entry's language). No database writes here."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _

from bookings.emails import sender
from waitlist.models import MessageKind, OfferStatus, WaitlistMessage


def site_url(name: str, token: str) -> str:
    return settings.EXPATDESK_SITE_URL.rstrip("/") + reverse(name, kwargs={"token": token})


def should_send(message: WaitlistMessage) -> bool:
    """False when it no longer applies: no address (anonymised), or an offer no longer open."""
    if not message.entry.email:
        return False
    if message.kind == MessageKind.OFFER:
        return message.offer is not None and message.offer.status == OfferStatus.OPEN
    return True


def build_message(message: WaitlistMessage, *, token: str, now: datetime | None = None) -> EmailMultiAlternatives:
    entry = message.entry
    location = entry.location
    language = entry.language or settings.LANGUAGE_CODE
    sent_at = now or timezone.now()
    with translation.override(language):
        tz = location.tz
        values = {"desk": location.display_name, "service": entry.service.name}
        context = {
            "language": translation.get_language(),
            "entry": entry,
            "service_name": entry.service.name,
            "location": location,
            "first_day": dateformat.format(entry.first_day, "l j F Y"),
            "last_day": dateformat.format(entry.last_day, "l j F Y"),
            "leave_url": site_url("waitlist:leave", token) if token else "",
            "kind": message.kind,
        }
        if message.kind == MessageKind.OFFER:
            offer = message.offer
            start = offer.start.astimezone(tz)
            end = offer.appointment.end.astimezone(tz)
            values["when"] = dateformat.format(start, "l j F Y, H:i")
            subject = _("A time is free for you at %(desk)s: %(when)s") % values
            heading = _("A time has become free for you")
            context.update(
                {
                    "date": dateformat.format(start, "l j F Y"),
                    "start_time": dateformat.format(start, "H:i"),
                    "end_time": dateformat.format(end, "H:i"),
                    "expires": dateformat.format(offer.expires_at.astimezone(tz), "l j F Y, H:i"),
                    "offer_url": site_url("waitlist:offer", token) if token else "",
                    "moves_booking": entry.appointment_id is not None,
                }
            )
        else:
            subject = _("You are on the waitlist of %(desk)s for %(service)s") % values
            heading = _("You are on the waitlist")
        context.update({"subject": subject, "heading": heading})
        text = render_to_string("waitlist/emails/message.txt", context)
        html = render_to_string("waitlist/emails/message.html", context)
        message_out = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=sender(location),
            to=[entry.email],
            reply_to=[location.contact_email] if location.contact_email else None,
            headers={
                "Auto-Submitted": "auto-generated",
                "Content-Language": language,
                "Date": format_datetime(sent_at.astimezone(tz)),
            },
        )
        message_out.attach_alternative(html, "text/html")
    return message_out
