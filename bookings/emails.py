"""Render and send one customer e-mail from the outbox. No database writes here.

Every e-mail is HTML (single column, inline styles, readable in a phone's mail app) plus plain text,
in the language the customer booked in. Confirmation, reminder and reschedule notices carry the
booking as an `.ics` (METHOD:REQUEST, the same UID each time); a cancellation carries METHOD:CANCEL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _

from bookings import qr, selectors
from bookings.ics import appointment_ics
from bookings.models import Appointment, AppointmentStatus, EmailKind, EventKind, Location, OutboxEmail

# Kinds whose e-mail tells about a live booking: not sent any more once the booking is cancelled.
LIVE_KINDS = (EmailKind.CONFIRMATION, EmailKind.REMINDER, EmailKind.RESCHEDULE, EmailKind.MANAGE_LINK)
LIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


@dataclass(frozen=True)
class Wording:
    subject: str
    heading: str
    intro: str
    ics_method: str | None
    # A cancellation by the desk: say sorry, give its reason, and how to reach the desk.
    by_desk: bool = False


def _wording(*, kind: str, appointment: Appointment, when: str, by_desk: bool = False) -> Wording:
    """The kind-specific sentences, translated in the active language; `desk` is the location's public name."""
    values = {"reference": appointment.reference, "when": when, "desk": appointment.location.display_name}
    if kind == EmailKind.CONFIRMATION:
        return Wording(
            subject=_("Your appointment at %(desk)s on %(when)s (%(reference)s)") % values,
            heading=_("Your appointment is booked"),
            intro=_("Thank you. Your appointment at %(desk)s is booked. The details are below.") % values,
            ics_method="REQUEST",
        )
    if kind == EmailKind.REMINDER:
        return Wording(
            subject=_("Reminder: your appointment at %(desk)s on %(when)s (%(reference)s)") % values,
            heading=_("See you soon"),
            intro=_("This is a reminder of your appointment at %(desk)s.") % values,
            ics_method="REQUEST",
        )
    if kind == EmailKind.RESCHEDULE:
        return Wording(
            subject=_("Your appointment at %(desk)s has been moved to %(when)s (%(reference)s)") % values,
            heading=_("Your appointment has been moved"),
            intro=_("Your appointment at %(desk)s has been moved. The new date and time are below.") % values,
            ics_method="REQUEST",
        )
    if kind == EmailKind.CANCELLATION and by_desk:
        return Wording(
            subject=_("We had to cancel your appointment at %(desk)s on %(when)s (%(reference)s)") % values,
            heading=_("We had to cancel your appointment"),
            intro=_("We are sorry: %(desk)s had to cancel your appointment below. We apologise for the inconvenience.")
            % values,
            ics_method="CANCEL",
            by_desk=True,
        )
    if kind == EmailKind.CANCELLATION:
        return Wording(
            subject=_("Your appointment at %(desk)s on %(when)s has been cancelled (%(reference)s)") % values,
            heading=_("Your appointment has been cancelled"),
            intro=_("Your appointment at %(desk)s below has been cancelled. You are welcome to book a new one.")
            % values,
            ics_method="CANCEL",
        )
    if kind == EmailKind.MANAGE_LINK:
        return Wording(
            subject=_("The links to your bookings at %(desk)s (%(reference)s)") % values,
            heading=_("Your bookings"),
            intro=_("You asked for the links to view, move or cancel your bookings. Here they are."),
            ics_method=None,
        )
    raise ValueError(f"No e-mail is written for the outbox kind {kind!r}.")


def cancelled_by_desk(appointment: Appointment) -> bool:
    """Whether staff (the desk or an admin) cancelled it, not the person: its cancellation has an actor."""
    last = appointment.events.filter(kind=EventKind.CANCELLED).order_by("-at", "-pk").first()
    return last is not None and last.actor_id is not None


def sender(location: Location) -> str:
    """DEFAULT_FROM_EMAIL's address under the location's public name: one name for the desk everywhere."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((location.display_name, address or settings.DEFAULT_FROM_EMAIL))


class MessageWithInlineImages(EmailMultiAlternatives):
    """HTML with inline images: multipart/alternative [text, multipart/related [html, images]], then the
    attachments, so mail apps show the images in the HTML and do not list them as attachments."""

    def __init__(self, *args, inline_images: list[MIMEBase] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.inline_images = inline_images or []

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if not self.inline_images or not msg.is_multipart():
            return msg
        parts = msg.get_payload()
        for index, part in enumerate(parts):
            if part.get_content_type() == "text/html":
                related = SafeMIMEMultipart(_subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET)
                # RFC 2387: a multipart/related names the type of its root part.
                related.set_param("type", "text/html")
                related.attach(part)
                for image in self.inline_images:
                    related.attach(image)
                parts[index] = related
        return msg


def manage_url(token: str, *, location: Location) -> str:
    """The absolute manage link with this token (issued for the e-mail when it is sent, never stored), at the
    booking's own location."""
    path = reverse("bookings:manage", kwargs={"location": location.slug, "token": token})
    return settings.EXPATDESK_SITE_URL.rstrip("/") + path


def start_url(*, location: Location) -> str:
    """The absolute address of the location's start page (book again)."""
    return settings.EXPATDESK_SITE_URL.rstrip("/") + reverse("bookings:start", kwargs={"location": location.slug})


def should_send(email: OutboxEmail) -> bool:
    """False when the e-mail no longer applies: no address, or a booking that is no longer live."""
    appointment = email.appointment
    if not appointment.contact_email:
        return False
    if email.kind in LIVE_KINDS:
        return appointment.status in LIVE_STATUSES
    if email.kind == EmailKind.CANCELLATION:
        return appointment.status == AppointmentStatus.CANCELLED
    if email.kind == EmailKind.FEEDBACK:
        return appointment.status == AppointmentStatus.DONE
    return True


def _local(appointment: Appointment) -> tuple[datetime, datetime]:
    tz = appointment.location.tz
    return appointment.start.astimezone(tz), appointment.end.astimezone(tz)


def _other_bookings(appointment: Appointment, *, tokens: dict[int, str]) -> list[dict]:
    """For the "find my booking" e-mail: the address's other live bookings, each with a link of its own
    (`tokens`: appointment id → the token issued for this e-mail, actions.issue_bundled_manage_tokens)."""
    others = Appointment.objects.filter(pk__in=list(tokens)).select_related("service", "location").order_by("start")
    result = []
    for booking in others:
        start, end = _local(booking)
        result.append(
            {
                "reference": booking.reference,
                "service_name": booking.service.name,
                "when": f"{dateformat.format(start, 'l j F Y')}, {dateformat.format(start, 'H:i')}–"
                f"{dateformat.format(end, 'H:i')}",
                "desk": booking.location.display_name,
                "manage_url": manage_url(tokens[booking.pk], location=booking.location),
            }
        )
    return result


def build_message(
    email: OutboxEmail,
    *,
    manage_token: str = "",
    other_tokens: dict[int, str] | None = None,
    now: datetime | None = None,
) -> EmailMultiAlternatives:
    """The complete message for one outbox row, rendered in the booking's language. `manage_token` is the
    token of this e-mail's manage link (actions.issue_email_manage_token); without one there is no link.
    `other_tokens` gives the "find my booking" e-mail the links of the address's other live bookings."""
    if email.kind == EmailKind.FEEDBACK:
        return build_feedback_message(email, token=manage_token, now=now)
    appointment = email.appointment
    location = appointment.location
    language = appointment.language or settings.LANGUAGE_CODE
    sent_at = now or timezone.now()
    with translation.override(language):
        start, end = _local(appointment)
        when = dateformat.format(start, "l j F Y, H:i")
        by_desk = email.kind == EmailKind.CANCELLATION and cancelled_by_desk(appointment)
        wording = _wording(kind=email.kind, appointment=appointment, when=when, by_desk=by_desk)
        live = email.kind != EmailKind.CANCELLATION
        people = list(appointment.people.all())
        # A visit of several services lists each part (service, time, persons, counters); a booking of one
        # service has no part lines and reads as it always has.
        part_lines = selectors.visit_part_lines(appointment, people=people)
        tz = location.tz
        parts = [
            {
                "service_name": part.service.name,
                "start_time": dateformat.format(part.start.astimezone(tz), "H:i"),
                "end_time": dateformat.format(part.end.astimezone(tz), "H:i"),
                "who": ", ".join(part.who),
                "counters": ", ".join(part.counters),
                "counter_count": len(part.counters),
            }
            for part in part_lines
        ]
        if part_lines:
            service_name = ", ".join(part.service.name for part in part_lines)
            what_to_bring = "\n".join(selectors.what_to_bring([part.service for part in part_lines])) if live else ""
        else:
            service_name = appointment.service.name
            what_to_bring = appointment.service.what_to_bring if live else ""
        context = {
            "language": translation.get_language(),
            "wording": wording,
            "appointment": appointment,
            "people": people,
            "service_name": service_name,
            "parts": parts,
            "what_to_bring": what_to_bring,
            "location": location,
            "directions": location.directions if live else "",
            "arrive_early_minutes": location.arrive_early_minutes if live else 0,
            "date": dateformat.format(start, "l j F Y"),
            "start_time": dateformat.format(start, "H:i"),
            "end_time": dateformat.format(end, "H:i"),
            "time_zone": location.time_zone,
            "manage_url": manage_url(manage_token, location=location) if live and manage_token else "",
            "book_again_url": start_url(location=location) if not live else "",
            "live": live,
            "cancel_reason": appointment.cancel_reason if wording.by_desk else "",
            "has_calendar_file": wording.ics_method is not None,
            "calendar_file_cancels": wording.ics_method == "CANCEL",
            "other_bookings": _other_bookings(appointment, tokens=other_tokens or {}),
            # The reference as a QR code for the desk's scanner, on e-mails about a booking still to come.
            "qr_cid": qr.content_id(appointment.reference) if live else "",
        }
        text = render_to_string("emails/message.txt", context)
        html = render_to_string("emails/message.html", context)
        headers = {
            "Auto-Submitted": "auto-generated",
            "Content-Language": language,
            # In the desk's own offset (RFC 5322), not Django's "-0000" for an unknown zone.
            "Date": format_datetime(sent_at.astimezone(location.tz)),
        }
        message = MessageWithInlineImages(
            inline_images=[qr.reference_png_part(appointment.reference)] if live else [],
            subject=wording.subject,
            body=text,
            from_email=sender(location),
            to=[appointment.contact_email],
            reply_to=[location.contact_email] if location.contact_email else None,
            headers=headers,
        )
        message.attach_alternative(html, "text/html")
        if wording.ics_method is not None:
            ics = appointment_ics(appointment=appointment, method=wording.ics_method, now=now)
            part = MIMEText(ics.decode("utf-8"), "calendar", "utf-8")
            part.set_param("method", wording.ics_method)
            part.add_header("Content-Disposition", "attachment", filename=f"{appointment.reference}.ics")
            message.attach(part)
    return message


# The page a feedback link opens: the insights app's, named, so bookings imports nothing of it (DESIGN.md §3).
FEEDBACK_URL_NAME = "insights:feedback"
FEEDBACK_SCORES = range(1, 11)


def feedback_url(token: str, score: int | None = None) -> str:
    """The absolute link of a feedback e-mail: the score page, with the score the person clicked."""
    url = settings.EXPATDESK_SITE_URL.rstrip("/") + reverse(FEEDBACK_URL_NAME, kwargs={"token": token})
    return f"{url}?score={score}" if score is not None else url


def build_feedback_message(email: OutboxEmail, *, token: str, now: datetime | None = None) -> EmailMultiAlternatives:
    """ "How was your visit? 1 … 10": each number a link to the score page with its token (issued for this
    send, actions.issue_email_manage_token; only its hash is kept). HTML and text, in the booking's language."""
    appointment = email.appointment
    location = appointment.location
    language = appointment.language or settings.LANGUAGE_CODE
    sent_at = now or timezone.now()
    with translation.override(language):
        start, _end = _local(appointment)
        values = {"desk": location.display_name, "reference": appointment.reference}
        subject = _("How was your visit to %(desk)s? (%(reference)s)") % values
        context = {
            "language": translation.get_language(),
            "subject": subject,
            "appointment": appointment,
            "service_name": appointment.service.name,
            "location": location,
            "date": dateformat.format(start, "l j F Y"),
            "scores": [{"score": score, "url": feedback_url(token, score)} for score in FEEDBACK_SCORES]
            if token
            else [],
            "link_days": settings.EXPATDESK_FEEDBACK_LINK_DAYS,
        }
        text = render_to_string("emails/feedback.txt", context)
        html = render_to_string("emails/feedback.html", context)
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=sender(location),
            to=[appointment.contact_email],
            reply_to=[location.contact_email] if location.contact_email else None,
            headers={
                "Auto-Submitted": "auto-generated",
                "Content-Language": language,
                "Date": format_datetime(sent_at.astimezone(location.tz)),
            },
        )
        message.attach_alternative(html, "text/html")
    return message


def send_outbox_email(
    email: OutboxEmail,
    *,
    manage_token: str = "",
    other_tokens: dict[int, str] | None = None,
    now: datetime | None = None,
) -> None:
    """Send one outbox row's e-mail. SMTP errors (smtplib.SMTPException, OSError) propagate to the task."""
    build_message(email, manage_token=manage_token, other_tokens=other_tokens, now=now).send(fail_silently=False)
