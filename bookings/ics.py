"""The appointment as an iCalendar (RFC 5545) object, for e-mail attachments and the download link.

Times are written in UTC (`DTSTART:20261201T080000Z`): unambiguous in every calendar app, with no
VTIMEZONE to get wrong. The UID is stable per booking, so a moved booking (higher SEQUENCE) updates
the entry in the person's calendar and `METHOD:CANCEL` removes it. Pure: no database writes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from bookings import selectors
from bookings.models import Appointment, AppointmentStatus

METHODS = ("PUBLISH", "REQUEST", "CANCEL")
PRODID = "-//ExpatDesk//Bookings//EN"


def appointment_uid(appointment: Appointment) -> str:
    return f"{appointment.reference}@expatdesk"


def _visit_texts(appointment: Appointment) -> tuple[str, str]:
    """The summary and description of a visit of several services (one event from the arrival to the end of
    the last part): every part with its time, persons and counters, then the union of what to bring."""
    location = appointment.location
    people = list(appointment.people.all())
    parts = selectors.visit_part_lines(appointment, people=people)
    services = ", ".join(part.service.name for part in parts)
    summary = _("Appointment at %(desk)s: %(service)s") % {"desk": location.name, "service": services}
    lines = [
        _("Booking reference: %(reference)s") % {"reference": appointment.reference},
        _("Persons: %(persons)d") % {"persons": appointment.persons},
        _("Your visit, part by part:"),
    ]
    tz = location.tz
    for part in parts:
        line = f"{part.start.astimezone(tz):%H:%M}–{part.end.astimezone(tz):%H:%M} {part.service.name}: " + ", ".join(
            part.who
        )
        if part.counters:
            line += " (" + ", ".join(part.counters) + ")"
        lines.append(line)
    bring = selectors.what_to_bring([part.service for part in parts])
    if bring:
        lines.append(_("What to bring: %(items)s") % {"items": "; ".join(bring)})
    return summary, "\n".join(lines)


def appointment_ics(*, appointment: Appointment, method: str = "REQUEST", now: datetime | None = None) -> bytes:
    """One VEVENT for the appointment, in the appointment's language.

    `method` is PUBLISH for a download, REQUEST for an e-mailed booking or change, and CANCEL for a
    cancellation (a cancelled appointment gets CANCEL whatever is asked: its calendar entry must go).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    cancelled = appointment.status == AppointmentStatus.CANCELLED
    if cancelled:
        method = "CANCEL"
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    location = appointment.location
    service = appointment.service

    with translation.override(appointment.language or settings.LANGUAGE_CODE):
        if appointment.part_count > 1:
            summary, description = _visit_texts(appointment)
        else:
            summary = _("Appointment at %(desk)s: %(service)s") % {"desk": location.name, "service": service.name}
            lines = [
                _("Booking reference: %(reference)s") % {"reference": appointment.reference},
                _("Persons: %(persons)d") % {"persons": appointment.persons},
            ]
            if service.what_to_bring:
                lines.append(_("What to bring: %(items)s") % {"items": service.what_to_bring})
            description = "\n".join(lines)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.start.astimezone(UTC))
    event.add("dtend", appointment.end.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", description)
    event.add("location", vText(f"{location.name}, {location.address}"))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer_name, organizer_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    organizer = vCalAddress(f"mailto:{organizer_address}")
    if organizer_name:
        organizer.params["cn"] = vText(organizer_name)
    event.add("organizer", organizer)
    if method != "PUBLISH" and appointment.contact_email:
        # iTIP (RFC 5546) REQUEST/CANCEL name the attendee; no reply is asked for.
        attendee = vCalAddress(f"mailto:{appointment.contact_email}")
        attendee.params["partstat"] = vText("ACCEPTED")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()
