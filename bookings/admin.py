"""Admin for the desk: locations with their counters, opening hours and closures; appointments to look up.

Appointments are never saved by the admin: their pages are read-only, they cannot be added or deleted
here, and every change goes through bookings/actions/ (an admin action for cancelling).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings.actions import BookingError, cancel_appointment
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Closure,
    Counter,
    CounterBlock,
    Location,
    OpeningHours,
    OutboxEmail,
    Person,
    SlotClaim,
)
from bookings.opening_hours import appointments_outside

admin.site.site_header = _("ExpatDesk administration")
admin.site.site_title = _("ExpatDesk admin")
admin.site.index_title = _("Desk configuration and appointments")

CANCELLABLE_STATUSES = (AppointmentStatus.HELD, AppointmentStatus.BOOKED)


# ---- forms: plain-language errors instead of "constraint … is violated" ----------------------


class OpeningHoursForm(forms.ModelForm):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "start_time", "end_time", "valid_from", "valid_until"]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and start >= end:
            self.add_error("end_time", _("The closing time must be after the opening time."))
        valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
        if valid_from and valid_until and valid_from > valid_until:
            self.add_error("valid_until", _("The last valid day cannot be before the first."))
        return data


def live_appointments_on(*, location_id: int | None, start_date: date, end_date: date) -> int:
    """How many live appointments fall on these days at the location (every location when None).

    The same rule as bookings.actions.add_closure, which the desk's capacity preview uses under a lock;
    the admin's forms run inside Django's own transaction, so they check it here before saving.
    """
    now = timezone.now()
    appointments = Appointment.objects.filter(start__date__gte=start_date, start__date__lte=end_date).filter(
        Q(status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN])
        | Q(status=AppointmentStatus.HELD, hold_expires_at__gt=now)
    )
    if location_id is not None:
        appointments = appointments.filter(location_id=location_id)
    return appointments.count()


class ClosureForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["location", "start_date", "end_date", "reason"]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and start > end:
            self.add_error("end_date", _("The last closed day cannot be before the first."))
        elif start and end:
            location = data.get("location")  # on a location's page: that location, maybe not saved yet
            if location is not None and location.pk is None:
                return data  # a new location has no appointments yet
            count = live_appointments_on(location_id=location.pk if location else None, start_date=start, end_date=end)
            if count:
                raise forms.ValidationError(
                    ngettext(
                        "%(count)d appointment falls on these days. Move or cancel it first "
                        "(the desk's capacity preview lists it).",
                        "%(count)d appointments fall on these days. Move or cancel them first "
                        "(the desk's capacity preview lists them).",
                        count,
                    )
                    % {"count": count}
                )
        return data


# ---- locations, counters, opening hours, closures ---------------------------------------------


class CounterInline(admin.TabularInline):
    model = Counter
    fields = ["name", "services", "is_active"]
    extra = 0
    show_change_link = True

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "services":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OpeningHoursFormSet(forms.BaseInlineFormSet):
    """A location's opening hours (and its grid, time zone and active flag, from the location form above) may
    not change so that live appointments fall outside opening hours or off the grid: the same check as
    actions.change_opening_hours."""

    def clean(self) -> None:
        super().clean()
        location = self.instance
        if location.pk is None or any(form.errors for form in self.forms):
            return  # a new location has no appointments; field errors are shown first
        proposed = [
            OpeningHours(
                location=location, **{name: form.cleaned_data.get(name) for name in OpeningHoursForm.Meta.fields}
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        saved = Location.objects.filter(pk=location.pk).first()
        if saved is None:
            return
        outside = appointments_outside(
            location=saved,
            current=list(OpeningHours.objects.filter(location=saved)),
            proposed=proposed,
            now=timezone.now(),
            changed=location,
        )
        if outside:
            shown = ", ".join(
                f"{a.reference} ({timezone.localtime(a.start, saved.tz):%d-%m-%Y %H:%M})" for a in outside[:20]
            )
            raise forms.ValidationError(
                ngettext(
                    "%(count)d appointment would fall outside opening hours or off the time grid: %(list)s. "
                    "Move or cancel it first (the desk's capacity preview lists it).",
                    "%(count)d appointments would fall outside opening hours or off the time grid: %(list)s. "
                    "Move or cancel them first (the desk's capacity preview lists them).",
                    len(outside),
                )
                % {"count": len(outside), "list": shown + (", …" if len(outside) > 20 else "")}
            )


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    form = OpeningHoursForm
    formset = OpeningHoursFormSet
    extra = 0


class LocationClosureInline(admin.TabularInline):
    model = Closure
    form = ClosureForm
    fields = ["start_date", "end_date", "reason"]
    extra = 0
    verbose_name = _("closure of this location")
    verbose_name_plural = _("closures of this location (closures of every location are under Closures)")


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "short_code", "address", "grid_minutes", "active_counters", "is_active"]
    list_filter = ["is_active", "city"]
    search_fields = ["name", "short_code", "street", "city"]
    fieldsets = [
        (None, {"fields": ["name", "public_name", "short_code", "is_active"]}),
        (_("Address"), {"fields": ["street", "postcode", "city", "time_zone"]}),
        (_("Visitors"), {"fields": ["directions_en", "directions_nl", "arrive_early_minutes"]}),
        (_("Contact"), {"fields": ["contact_email", "contact_phone"]}),
        (_("Booking"), {"fields": ["grid_minutes", "ind_desk_key"]}),
    ]
    inlines = [CounterInline, OpeningHoursInline, LocationClosureInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Location]:
        return (
            super()
            .get_queryset(request)
            .annotate(_active_counters=Count("counters", filter=Q(counters__is_active=True), distinct=True))
        )

    @admin.display(description=_("active counters"), ordering="_active_counters")
    def active_counters(self, obj: Location) -> int:
        return obj._active_counters


@admin.register(Counter)
class CounterAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "service_list", "is_active"]
    list_filter = ["location", "is_active", "services"]
    search_fields = ["name", "location__name"]
    filter_horizontal = ["services"]
    list_select_related = ["location"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Counter]:
        return super().get_queryset(request).prefetch_related("services")

    @admin.display(description=_("services"))
    def service_list(self, obj: Counter) -> str:
        return ", ".join(service.name for service in obj.services.all())


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    form = ClosureForm
    list_display = ["start_date", "end_date", "where", "reason"]
    list_filter = ["location"]
    search_fields = ["reason"]
    date_hierarchy = "start_date"
    list_select_related = ["location"]

    @admin.display(description=_("location"), ordering="location__name")
    def where(self, obj: Closure) -> str:
        return obj.location.name if obj.location else _("All locations")


# ---- appointments: read-only, changed through actions ------------------------------------------


class ReadOnlyInline(admin.TabularInline):
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


class SlotClaimInline(ReadOnlyInline):
    model = SlotClaim
    fields = ["counter", "unit_start", "expires_at"]
    verbose_name = _("counter time")
    verbose_name_plural = _("counter time held by this appointment")

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
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["reference", "service", "location", "start", "persons", "names", "status"]
    list_filter = ["status", WhenFilter, "service", "location"]
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
    inlines = [PersonInline, SlotClaimInline, AppointmentEventInline, OutboxEmailInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appointment]:
        return super().get_queryset(request).prefetch_related("people")

    @admin.action(description=_("Personal data request (export or erase) for the selected booking's e-mail"))
    def personal_data_request(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> TemplateResponse | None:
        from bookings.admin_privacy import personal_data_from_selection

        return personal_data_from_selection(self, request, queryset)

    def get_urls(self) -> list:
        from django.urls import path

        from bookings.admin_privacy import personal_data_view

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
class OutboxEmailAdmin(admin.ModelAdmin):
    """The e-mails the system has queued for people, for looking into a missing message."""

    list_display = ["appointment", "kind", "revision", "status", "attempts", "created_at", "sent_at"]
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
class CounterBlockAdmin(admin.ModelAdmin):
    """Counters taken out of service. Blocks are made and ended on the desk pages, which keep their claims right."""

    list_display = ["counter", "start", "end", "reason", "created_by"]
    list_filter = ["counter__location", "counter"]
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
