"""The queue in the admin: kiosk and display devices (created, new sign-in link, revoked through actions),
ticket letters per service, and the tickets read-only. Every write goes through an action. Devices and
tickets belong to a location: an admin limited to locations sees, adds and acts on their own only
(bookings/admin/scoped.py); the ticket letters are per service, for every location."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings.admin.scoped import LocationScoped, NationalData, related_only
from bookings.admin.through_actions import SavedThroughActions
from queueing import actions, devices
from queueing.models import Device, ServiceLetter, Ticket


def _sign_in_link(request: HttpRequest, code: str) -> str:
    return request.build_absolute_uri(reverse("queueing:device_sign_in", args=[code]))


@admin.register(Device)
class DeviceAdmin(LocationScoped, SavedThroughActions):
    list_display = ["name", "location", "kind", "signed_in_at", "revoked_at"]
    list_filter = [related_only("location"), "kind"]
    fields = [
        "location",
        "kind",
        "name",
        "created_at",
        "created_by",
        "signed_in_at",
        "sign_in_expires_at",
        "revoked_at",
        "revoked_by",
    ]
    actions = ["revoke", "new_sign_in_link"]

    def get_readonly_fields(self, request: HttpRequest, obj: Device | None = None):
        if obj is None:
            return ["created_at", "created_by", "signed_in_at", "sign_in_expires_at", "revoked_at", "revoked_by"]
        return self.fields

    def get_fields(self, request: HttpRequest, obj: Device | None = None):
        return ["location", "kind", "name"] if obj is None else self.fields

    def has_delete_permission(self, request: HttpRequest, obj: Device | None = None) -> bool:
        return False  # revoke instead: the record of the device stays

    def save_through_action(self, request, obj, form, formsets, change):
        if change:
            return obj
        device, code = devices.create_device(
            location=form.cleaned_data["location"],
            kind=form.cleaned_data["kind"],
            name=form.cleaned_data["name"],
            now=timezone.now(),
            actor=request.user,
        )
        self.message_user(
            request,
            _("Open this one-time sign-in link on the device (it is shown only now): %(link)s")
            % {"link": _sign_in_link(request, code)},
            level=messages.WARNING,
        )
        return device

    @admin.action(description=gettext_lazy("Revoke: sign the selected devices out"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset:
            devices.revoke_device(device=device, now=timezone.now(), actor=request.user)
        self.message_user(request, _("%(count)d device(s) signed out.") % {"count": len(queryset)})

    @admin.action(description=gettext_lazy("New one-time sign-in link"))
    def new_sign_in_link(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset:
            code = devices.new_sign_in_code(device=device, now=timezone.now(), actor=request.user)
            self.message_user(
                request,
                _("%(device)s: open this one-time sign-in link on the device: %(link)s")
                % {"device": device, "link": _sign_in_link(request, code)},
                level=messages.WARNING,
            )


@admin.register(ServiceLetter)
class ServiceLetterAdmin(NationalData, SavedThroughActions):
    list_display = ["letter", "service"]

    def save_through_action(self, request, obj, form, formsets, change):
        return actions.set_ticket_letter(
            service=form.cleaned_data["service"], letter=form.cleaned_data["letter"], actor=request.user
        )

    def delete_through_action(self, request, obj):
        actions.remove_ticket_letter(service=obj.service, actor=request.user)


@admin.register(Ticket)
class TicketAdmin(LocationScoped, admin.ModelAdmin):
    list_display = [
        "__str__",
        "location",
        "day",
        "service",
        "kind",
        "status",
        "counter",
        "wait_seconds",
        "service_seconds",
    ]
    list_filter = [related_only("location"), "day", "status"]
    list_select_related = ["location", "service", "counter"]
    exclude = ["appointment"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False
