"""Read-only: everything the desk holds about one person, for a data request (GDPR article 15).

A person is found by the e-mail address they booked with; the export lists every appointment booked
with it: the people on it, the times, the contact details, the history and the e-mails sent.
Erasing is bookings.actions.erase_personal_data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.module_loading import import_string

from bookings.models import Appointment
from bookings.selectors import visit_parts


def appointments_for_email(email: str, *, location_ids: frozenset[int] | None = None) -> QuerySet[Appointment]:
    """Every appointment booked with this e-mail address (case-insensitive); none for an empty one.
    `location_ids`: only those at these locations (an admin limited to locations); None: at every one."""
    email = email.strip()
    if not email:
        return Appointment.objects.none()
    queryset = Appointment.objects.filter(contact_email__iexact=email)
    if location_ids is not None:
        queryset = queryset.filter(location_id__in=location_ids)
    return (
        queryset.select_related("service", "location")
        .prefetch_related("people", "events", "emails")
        .order_by("start", "pk")
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_personal_data(*, email: str, now: datetime, location_ids: frozenset[int] | None = None) -> dict[str, Any]:
    """A JSON-ready copy of one person's data (at `location_ids`, None: everywhere). Staff who acted are not
    named (their data is not the person's)."""
    appointments = []
    ids = []
    for appointment in appointments_for_email(email, location_ids=location_ids):
        ids.append(appointment.pk)
        appointments.append(
            {
                "reference": appointment.reference,
                "service": appointment.service.name,
                "location": appointment.location.name,
                "address": appointment.location.address,
                "start": _iso(appointment.start),
                "end": _iso(appointment.end),
                "status": appointment.status,
                "persons": appointment.persons,
                "people": [
                    {"first_name": person.first_name, "last_name": person.last_name}
                    for person in appointment.people.all()
                ],
                "email": appointment.contact_email,
                "phone": appointment.phone,
                "municipality": appointment.municipality,
                "language": appointment.language,
                "needs_wheelchair": appointment.needs_wheelchair,
                "interpreter_language": appointment.interpreter_language,
                "extra_units": appointment.extra_units,
                "parts": [
                    {
                        "service": part.service.name,
                        "persons": list(part.persons),
                        "start": _iso(part.start),
                        "end": _iso(part.end),
                    }
                    for part in visit_parts(appointment)
                ],
                "created_at": _iso(appointment.created_at),
                "booked_at": _iso(appointment.booked_at),
                "checked_in_at": _iso(appointment.checked_in_at),
                "done_at": _iso(appointment.done_at),
                "no_show_at": _iso(appointment.no_show_at),
                "cancelled_at": _iso(appointment.cancelled_at),
                "cancel_reason": appointment.cancel_reason,
                "events": [
                    {"at": _iso(event.at), "kind": event.kind, "detail": event.detail}
                    for event in appointment.events.all()
                ],
                "emails": [
                    {
                        "kind": sent.kind,
                        "status": sent.status,
                        "created_at": _iso(sent.created_at),
                        "sent_at": _iso(sent.sent_at),
                    }
                    for sent in appointment.emails.all()
                ],
            }
        )
    # What apps above bookings keep about these appointments (EXPATDESK_EXPORT_HOOKS: each returns
    # {appointment id: {key: JSON-ready value}}), without bookings importing them (DESIGN.md §3).
    for path in settings.EXPATDESK_EXPORT_HOOKS if ids else ():
        extra = import_string(path)(appointment_ids=ids)
        for pk, entry in zip(ids, appointments, strict=True):
            entry.update(extra.get(pk, {}))
    return {"email": email.strip(), "exported_at": now.isoformat(), "appointments": appointments}
