"""Admin for appointments, their outgoing e-mails and counter blocks: read-only, changed through actions.

Appointments are never saved by the admin: their pages are read-only, they cannot be added or deleted
here, and every change goes through bookings/actions/ (an admin action for cancelling).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings.actions import BookingError, cancel_appointment
from bookings.admin.scoped import LocationScoped, related_only
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentPart,
    AppointmentStatus,
    CounterBlock,
    OutboxEmail,
    Person,
    SlotClaim,
)

CANCELLABLE_STATUSES = (AppointmentStatus.HELD, AppointmentStatus.BOOKED)


# ---- appointments: read-only, changed through actions ------------------------------------------


class ReadOnlyInline(LocationScoped, admin.TabularInline):
    location_path = "appointment__location"

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class PersonInline(ReadOnlyInline):
    model = Person
    fields = ["position", "first_name", "last_name"]


class AppointmentPartInline(ReadOnlyInline):
    """The parts of a visit of several services (none for a booking of one service)."""

    model = AppointmentPart
    fields = ["position", "service", "persons", "start", "end", "started_at", "done_at", "no_show_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AppointmentPart]:
        return super().get_queryset(request).select_related("service")


class SlotClaimInline(ReadOnlyInline):
    model = SlotClaim
    fields = ["counter", "unit_start", "expires_at"]
    verbose_name = _("counter time")
    verbose_name_plural = _("counter time held by this appointment")
    location_path = "counter__location"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SlotClaim]:
        return super().get_queryset(request).select_related("counter__location").order_by("unit_start", "counter")


class AppointmentEventInline(ReadOnlyInline):
    model = AppointmentEvent
    fields = ["at", "kind", "actor", "detail"]
    verbose_name_plural = _("history")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AppointmentEvent]:
        return super().get_queryset(request).select_related("actor")


class OutboxEmailInline(ReadOnlyInline):
    model = OutboxEmail
    fields = ["kind", "revision", "status", "attempts", "created_at", "sent_at", "last_error"]


class WhenFilter(admin.SimpleListFilter):
    title = _("date")
    parameter_name = "when"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("today", _("Today")),
            ("tomorrow", _("Tomorrow")),
            ("next7", _("Next 7 days")),
            ("upcoming", _("From today on")),
            ("past", _("Before today")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
        today = timezone.localdate()
        midnight = timezone.make_aware(datetime.combine(today, time.min))
        ranges = {
            "today": (midnight, midnight + timedelta(days=1)),
            "tomorrow": (midnight + timedelta(days=1), midnight + timedelta(days=2)),
            "next7": (midnight, midnight + timedelta(days=7)),
        }
        value = self.value()
        if value in ranges:
            begin, end = ranges[value]
            return queryset.filter(start__gte=begin, start__lt=end)
        if value == "upcoming":
            return queryset.filter(start__gte=midnight)
        if value == "past":
            return queryset.filter(start__lt=midnight)
        return queryset


@admin.register(Appointment)
class AppointmentAdmin(LocationScoped, admin.ModelAdmin):
    list_display = ["reference", "service", "location", "start", "persons", "names", "status"]
    list_filter = ["status", WhenFilter, "service", related_only("location")]
    list_select_related = ["service", "location"]
    search_fields = ["reference", "people__first_name", "people__last_name", "contact_email"]
    search_help_text = _("Search by reference, a person's first or last name, or the e-mail address.")
    date_hierarchy = "start"
    actions = ["cancel_selected", "personal_data_request"]
    fieldsets = [
        (None, {"fields": ["reference", "status", "service", "location", "start", "end", "persons"]}),
        (_("Contact"), {"fields": ["contact_email", "phone", "language", "municipality"]}),
        (
            _("Timeline"),
            {
                "fields": [
                    "created_at",
                    "hold_expires_at",
                    "booked_at",
                    "booked_by",
                    "checked_in_at",
                    "started_at",
                    "done_at",
                    "no_show_at",
                    "cancelled_at",
                    "cancel_reason",
                    "sequence",
                ]
            },
        ),
    ]
    inlines = [PersonInline, AppointmentPartInline, SlotClaimInline, AppointmentEventInline, OutboxEmailInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appointment]:
        return super().get_queryset(request).prefetch_related("people")

    @admin.action(description=_("Personal data request (export or erase) for the selected booking's e-mail"))
    def personal_data_request(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> TemplateResponse | None:
        from bookings.admin.privacy import personal_data_from_selection

        return personal_data_from_selection(self, request, queryset)

    def get_urls(self) -> list:
        from django.urls import path

        from bookings.admin.privacy import personal_data_view

        return [
            path(
                "personal-data/",
                self.admin_site.admin_view(lambda request: personal_data_view(self, request)),
                name="bookings_appointment_personal_data",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("names"))
    def names(self, obj: Appointment) -> str:
        return ", ".join(str(person) for person in obj.people.all())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Appointment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Appointment | None = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bookings.change_appointment")

    @admin.action(description=_("Cancel the selected appointments"), permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> TemplateResponse | None:
        if request.POST.get("confirm") != "yes":
            appointments = list(queryset.select_related("service", "location"))
            context = {
                **self.admin_site.each_context(request),
                "title": _("Cancel appointments?"),
                "opts": self.model._meta,
                "cancellable": [a for a in appointments if a.status in CANCELLABLE_STATUSES],
                "not_cancellable": [a for a in appointments if a.status not in CANCELLABLE_STATUSES],
                "queryset": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/bookings/appointment/cancel_confirmation.html", context)
        now = timezone.now()
        cancelled = 0
        for appointment in queryset:
            try:
                cancel_appointment(appointment=appointment, now=now, actor=request.user)
            except BookingError as error:
                self.message_user(request, f"{appointment.reference}: {error.message}", level=messages.ERROR)
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request,
                ngettext(
                    "%(count)d appointment cancelled; its counter time is free again.",
                    "%(count)d appointments cancelled; their counter time is free again.",
                    cancelled,
                )
                % {"count": cancelled},
                level=messages.SUCCESS,
            )
        return None


@admin.register(OutboxEmail)
class OutboxEmailAdmin(LocationScoped, admin.ModelAdmin):
    """The e-mails the system has queued for people, for looking into a missing message."""

    list_display = ["appointment", "kind", "revision", "status", "attempts", "created_at", "sent_at"]
    location_path = "appointment__location"
    list_filter = ["status", "kind"]
    search_fields = ["appointment__reference"]
    list_select_related = ["appointment"]
    fields = [
        "appointment",
        "kind",
        "revision",
        "status",
        "attempts",
        "created_at",
        "claimed_at",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxEmail | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxEmail | None = None) -> bool:
        return False


@admin.register(CounterBlock)
class CounterBlockAdmin(LocationScoped, admin.ModelAdmin):
    """Counters taken out of service. Blocks are made and ended on the desk pages, which keep their claims right."""

    list_display = ["counter", "start", "end", "reason", "created_by"]
    list_filter = [related_only("counter__location"), related_only("counter")]
    location_path = "counter__location"
    search_fields = ["reason", "counter__name"]
    date_hierarchy = "start"
    list_select_related = ["counter__location", "created_by"]
    fields = ["counter", "start", "end", "reason", "created_at", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CounterBlock | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CounterBlock | None = None) -> bool:
        return False
