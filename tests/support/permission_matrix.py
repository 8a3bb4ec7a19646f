"""The world of the permission matrix (issue 12, point 3; tests/test_location_permissions.py and
tests/test_permission_matrix.py): location A (the test desk) and location B, each with its bookings, counters,
block, closure, queue ticket, kiosk and display, waitlist entry; the five roles' users; everything of B a
request could change (`state_of_b`); and the requests of the desk and the Django admin aimed at B's objects.

The clock of the desk (desk.clock) is Tuesday 09:55, the day of B's bookings, so that an action that reached
one of B's objects would succeed: a refusal in the matrix is the scoping's, not the calendar's."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse

from bookings import actions
from bookings.admin.scoped import LocationScoped
from bookings.models import (
    Appointment,
    AppointmentEvent,
    Closure,
    ConfigurationEvent,
    Counter,
    CounterBlock,
    Location,
    OutboxEmail,
    SlotClaim,
)
from desk.models import AssignmentEvent, DeskStaffMember, StaffAssignment
from employers import actions as employer_actions
from employers.models import EmployerBooking
from insights.models import Feedback
from queueing import devices
from queueing.models import Device, DeviceKind, Ticket, TicketEvent
from tests.support.desk import book, desk_admin, desk_staff, hr_staff, location_admin, sign_in
from tests.support.env import AMSTERDAM
from tests.support.factories import make_desk
from tests.support.waitlist import make_entry
from waitlist.models import WaitlistEntry, WaitlistMessage, WaitlistOffer

TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=AMSTERDAM)
DESK_TIME = TUESDAY_10.replace(hour=9, minute=55)
ROLES = ["anonymous", "staff of A", "admin of A", "superuser", "hr"]
# The last name on B's bookings: a page that shows it has shown B's booking (a reference typed is echoed back).
B_NAME = "Zwanenburg"
B_DESK_KEY = "b" * 32
# The admin of A may also run the queue's admin pages (devices, tickets): given the permissions, they must
# still see only A's (seed_demo's Admins group has bookings, services, employers and desk only).
ADMIN_OF_A_EXTRA_APPS = ("queueing",)


def make_world(desk: Location, service, monday_morning: datetime) -> dict:
    """Location A (the test desk) and B, each with a booking (same e-mail address), a block and a closure;
    B also with a checked-in booking and its queue ticket, a kiosk and a display, a waitlist entry; staff of B;
    and the five roles' users."""
    b = make_desk(services=[service], name="Bbb desk B", ind_desk_key=B_DESK_KEY)
    blocks = {}
    for name, location in (("a", desk), ("b", b)):
        blocks[name] = actions.block_counter(
            counter=location.counters.order_by("name").last(),
            start=TUESDAY_10.replace(hour=14),
            end=TUESDAY_10.replace(hour=15),
            reason="Training",
            now=monday_morning,
            actor=None,
        )
    closure_b = actions.save_closure(
        location=b,
        spec=actions.ClosureSpec(pk=None, start_date=date(2026, 12, 15), end_date=date(2026, 12, 15), reason="Works"),
        now=monday_morning,
        actor=None,
    )
    hr = hr_staff()
    appointment_b = book(b, service, TUESDAY_10, now=monday_morning, names=[("Beatrix", B_NAME)])
    # B's queue: a booking checked in at the desk, its ticket waiting.
    queued_b = book(b, service, TUESDAY_10.replace(minute=15), now=monday_morning, names=[("Bram", B_NAME)])
    actions.check_in(appointment=queued_b, now=DESK_TIME, actor=None)  # the check-in issues the ticket
    ticket_b = Ticket.objects.get(appointment=queued_b)
    kiosk_b, kiosk_b_code = devices.create_device(
        location=b, kind=DeviceKind.KIOSK, name="Entrance", now=monday_morning, actor=None
    )
    display_b, _code = devices.create_device(
        location=b, kind=DeviceKind.DISPLAY, name="Waiting room", now=monday_morning, actor=None
    )
    admin_a = location_admin("admin-a", locations=[desk])
    admin_a.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_OF_A_EXTRA_APPS))
    return {
        "a": desk,
        "b": b,
        "employer_booking_b": employer_actions.record_employer_booking(
            appointment=appointment_b, user=hr_staff("hr@other-employer.example"), now=monday_morning
        ),
        "appointment_a": book(desk, service, TUESDAY_10, now=monday_morning),
        "appointment_b": appointment_b,
        "queued_b": queued_b,
        "ticket_b": ticket_b,
        "kiosk_b": kiosk_b,
        "kiosk_b_code": kiosk_b_code,
        "display_b": display_b,
        "waitlist_b": make_entry(
            location=b, service=service, now=monday_morning, email="wait-b@example.org", day=date(2026, 12, 2)
        ),
        "block_a": blocks["a"],
        "block_b": blocks["b"],
        "closure_b": closure_b,
        "service": service,
        "staff_b": desk_staff("staff-b", locations=[b]),
        "users": {
            "staff of A": desk_staff("staff-a", locations=[desk]),
            "admin of A": admin_a,
            "superuser": desk_admin("root"),
            "hr": hr,
        },
    }


def state_of_b(world) -> tuple:
    """Everything of location B a request could change."""
    b = world["b"]
    appointments = Appointment.objects.filter(location=b).order_by("pk")
    return (
        tuple(appointments.values_list("pk", "status", "start", "contact_email", "sequence", "checked_in_at")),
        tuple(Location.objects.filter(pk=b.pk).values_list("name", "is_active", "grid_minutes")),
        tuple(Counter.objects.filter(location=b).order_by("pk").values_list("pk", "name", "is_active")),
        SlotClaim.objects.filter(counter__location=b).count(),
        tuple(CounterBlock.objects.filter(counter__location=b).order_by("pk").values_list("pk", "start", "end")),
        tuple(Closure.objects.filter(location=b).order_by("pk").values_list("pk", "start_date", "end_date")),
        ConfigurationEvent.objects.filter(location=b).count(),
        AppointmentEvent.objects.filter(appointment__location=b).count(),
        OutboxEmail.objects.filter(appointment__location=b).count(),
        tuple(StaffAssignment.objects.filter(location=b).order_by("pk").values_list("user_id", flat=True)),
        tuple(
            Ticket.objects.filter(location=b)
            .order_by("pk")
            .values_list("pk", "status", "counter_id", "calls", "queue_at", "done_at")
        ),
        TicketEvent.objects.filter(ticket__location=b).count(),
        tuple(
            Device.objects.filter(location=b)
            .order_by("pk")
            .values_list("pk", "name", "sign_in_code_hash", "token_hash", "signed_in_at", "revoked_at")
        ),
        tuple(WaitlistEntry.objects.filter(location=b).order_by("pk").values_list("pk", "status", "email")),
        WaitlistOffer.objects.filter(entry__location=b).count(),
        WaitlistMessage.objects.filter(entry__location=b).count(),
        tuple(Feedback.objects.filter(appointment__location=b).values_list("pk", "score", "comment")),
        EmployerBooking.objects.filter(appointment__location=b).count(),
    )


def signed_in(client, world, role: str):
    if role != "anonymous":
        sign_in(client, world["users"][role])
    return client


# ---- the desk (desk/urls.py) -----------------------------------------------------------------------------


def desk_requests(world) -> dict[str, list[tuple[str, str, dict]]]:
    """For each desk URL name: (method, path, data) aimed at B (its location and counter ids in the query or
    the form, its block by id, its booking by reference)."""
    b, ref, block = world["b"], world["appointment_b"].reference, world["block_b"].pk
    counter_b = b.counters.order_by("name").first().pk
    day = {"location": b.pk, "day": "2026-12-01"}
    counter_query = {"location": world["a"].pk, "day": "2026-12-01", "counter": counter_b}
    on_appointment = {"day": "2026-12-02", "time": "10:00", "reason": "Other location", "next": "/desk/"}
    requests = {
        name: [("get", reverse(f"desk:{name}"), day), ("get", reverse(f"desk:{name}"), counter_query)]
        for name in ("agenda", "agenda_fragment", "agenda_print", "agenda_csv")
    }
    requests |= {
        "capacity": [
            ("get", reverse("desk:capacity"), {"location": b.pk}),
            ("post", reverse("desk:capacity"), {"location": b.pk, "start_date": "2026-12-08", "reason": "x"}),
        ],
        "capacity_hours": [
            ("get", reverse("desk:capacity_hours"), {"location": b.pk}),
            (
                "post",
                reverse("desk:capacity_hours"),
                {"location": b.pk, "weekday": "1", "opens_1": "09:00", "closes_1": "11:00"},
            ),
        ],
        "check_in": [("post", reverse("desk:check_in"), {"reference": ref})],
        "walk_in": [
            (
                "post",
                reverse("desk:walk_in"),
                {"location": b.pk, "service": world["service"].pk, "first_name_1": "Li", "last_name_1": "Wei"},
            )
        ],
        "block_counter": [
            (
                "post",
                reverse("desk:block_counter"),
                {"counter": counter_b, "day": "2026-12-02", "start_time": "09:00", "end_time": "10:00", "reason": "x"},
            )
        ],
        "block": [("get", reverse("desk:block", args=[block]), {}), ("post", reverse("desk:block", args=[block]), {})],
        "appointment": [("get", reverse("desk:appointment", args=[ref]), {"move_day": "2026-12-02"})],
    }
    for name in ("check_in", "start", "finish", "no_show", "undo_check_in", "cancel", "move"):
        requests[f"appointment_{name}"] = [("post", reverse(f"desk:appointment_{name}", args=[ref]), on_appointment)]
    # A part of a visit (B's booking is booked, not checked in: an action that reached it would refuse with a
    # 400 for its status, not answer 404 as for a booking that does not exist).
    for name in ("part_start", "part_finish", "part_no_show"):
        requests[f"appointment_{name}"] = [("post", reverse(f"desk:appointment_{name}", args=[ref, 1]), on_appointment)]
    return requests


# ---- the Django admin -------------------------------------------------------------------------------------


def admin_objects(world) -> dict[type, object]:
    """Location B's object of each model of the admin that belongs to a location (location_bound_models)."""
    b = world["b"]
    staff_b = world["staff_b"]
    return {
        Location: b,
        Counter: b.counters.first(),
        Closure: world["closure_b"],
        ConfigurationEvent: ConfigurationEvent.objects.filter(location=b).first(),
        Appointment: world["appointment_b"],
        OutboxEmail: OutboxEmail.objects.filter(appointment=world["appointment_b"]).first(),
        CounterBlock: world["block_b"],
        DeskStaffMember: DeskStaffMember.objects.get(pk=staff_b.pk),
        AssignmentEvent: AssignmentEvent.objects.filter(user=staff_b).first(),
        EmployerBooking: world["employer_booking_b"],
        Device: world["kiosk_b"],
        Ticket: world["ticket_b"],
    }


def reaches_location(model: type[models.Model], depth: int = 3) -> bool:
    """The model is a Location, or leads to one through its foreign keys (an appointment's, a counter's, …)."""
    if model is Location:
        return True
    if depth == 0:
        return False
    return any(
        field.many_to_one or field.one_to_one
        for field in model._meta.get_fields()
        if field.concrete and field.is_relation and reaches_location(field.related_model, depth - 1)
    )


def location_bound_models() -> list[type]:
    """The admin's models that belong to a location: through a foreign key (directly or via an appointment,
    counter, ticket, …), a LocationScoped admin, or the staff's own locations (DeskStaffMember)."""
    return [
        model
        for model, model_admin in admin.site._registry.items()
        if reaches_location(model) or isinstance(model_admin, LocationScoped) or model is DeskStaffMember
    ]


# What an admin request is: "object" (B's object by id: the admin's "does not exist"), "action" (an admin
# action on B's row: nothing selected), "listing" (a list or an add form: B is not in it).
OBJECT, ACTION, LISTING = "object", "action", "listing"


def admin_requests(world, request) -> dict[str, list[tuple[str, str, dict, str]]]:
    """For each admin URL name of the location-bound models (and the admin's own URLs that take an object):
    (method, path, data, kind) aimed at B's object."""
    objects, b = admin_objects(world), world["b"]
    found: dict[str, list[tuple[str, str, dict, str]]] = {}
    for model in location_bound_models():
        meta, obj = model._meta, objects[model]
        base = f"{meta.app_label}_{meta.model_name}"
        model_admin = admin.site._registry[model]
        # The list, and its search (where it has one) for B's booking by reference and first name, and for B's
        # short code (the typed text is echoed back, so none is what _shows_nothing_of_b looks for).
        typed = [world["appointment_b"].reference, "Beatrix", b.short_code] if model_admin.search_fields else []
        searches = [{"q": text} for text in typed]
        found[f"{base}_changelist"] = [
            ("get", reverse(f"admin:{base}_changelist"), query, LISTING) for query in [{}, *searches]
        ] + [
            (
                "post",
                reverse(f"admin:{base}_changelist"),
                {"action": action, "_selected_action": [obj.pk], "confirm": "yes", "post": "yes"},
                ACTION,
            )
            for action in model_admin.get_actions(request)
        ]
        found[f"{base}_add"] = [("get", reverse(f"admin:{base}_add"), {}, LISTING)]
        found[f"{base}_change"] = [("get", reverse(f"admin:{base}_change", args=[obj.pk]), {}, OBJECT)]
        found[f"{base}_delete"] = [
            ("get", reverse(f"admin:{base}_delete", args=[obj.pk]), {}, OBJECT),
            ("post", reverse(f"admin:{base}_delete", args=[obj.pk]), {"post": "yes"}, OBJECT),
        ]
        found[f"{base}_history"] = [("get", reverse(f"admin:{base}_history", args=[obj.pk]), {}, OBJECT)]
    email = world["appointment_b"].contact_email
    url = reverse("admin:bookings_appointment_personal_data")
    found["bookings_appointment_personal_data"] = [
        ("post", url, {"email": email, "do": do, "confirm": "on"}, LISTING) for do in ("find", "export", "erase")
    ]
    appointment_type = ContentType.objects.get_for_model(Appointment).pk
    found["view_on_site"] = [
        ("get", reverse("admin:view_on_site", args=[appointment_type, world["appointment_b"].pk]), {}, OBJECT)
    ]
    # The admin's search for a form's location (the Location admin's rows, so the person's own locations).
    found["autocomplete"] = [
        (
            "get",
            reverse("admin:autocomplete"),
            {"term": "", "app_label": meta.app_label, "model_name": meta.model_name, "field_name": "location"},
            LISTING,
        )
        for meta in (Counter._meta, Appointment._meta, Device._meta)
    ]
    return found
