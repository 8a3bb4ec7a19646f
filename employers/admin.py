"""Admin for employers: approve sign-ups (through employers.actions), manage their HR staff; bookings read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings.actions import BookingError
from employers.actions import approve_employer
from employers.models import Employer, EmployerBooking, EmployerMembership


class MembershipInline(admin.TabularInline):
    model = EmployerMembership
    fields = ["user"]
    raw_id_fields = ["user"]
    extra = 0
    verbose_name_plural = _("HR staff (their accounts become active when the employer is approved)")


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ["name", "sponsor_number", "contact_name", "is_approved", "created_at", "hr_staff"]
    list_filter = ["is_approved"]
    search_fields = ["name", "sponsor_number", "contact_name"]
    fields = ["name", "sponsor_number", "contact_name", "is_approved", "approved_at", "approved_by", "created_at"]
    readonly_fields = ["is_approved", "approved_at", "approved_by", "created_at"]
    inlines = [MembershipInline]
    actions = ["approve_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # employers sign up at /employer/sign-up/

    def get_queryset(self, request: HttpRequest) -> QuerySet[Employer]:
        return super().get_queryset(request).annotate(_hr_staff=Count("memberships"))

    @admin.display(description=_("HR staff"), ordering="_hr_staff")
    def hr_staff(self, obj: Employer) -> int:
        return obj._hr_staff

    @admin.action(description=_("Approve the selected employers"), permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Employer]) -> None:
        now = timezone.now()
        approved = 0
        for employer in queryset:
            try:
                approve_employer(employer=employer, now=now, actor=request.user)
            except BookingError as error:
                self.message_user(request, f"{employer.name}: {error.message}", level=messages.WARNING)
            else:
                approved += 1
        if approved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d employer approved; its HR staff can sign in now.",
                    "%(count)d employers approved; their HR staff can sign in now.",
                    approved,
                )
                % {"count": approved},
                level=messages.SUCCESS,
            )


@admin.register(EmployerBooking)
class EmployerBookingAdmin(admin.ModelAdmin):
    list_display = ["appointment", "employer", "booked_by", "created_at"]
    list_filter = ["employer"]
    search_fields = ["appointment__reference", "employer__name"]
    list_select_related = ["appointment", "employer", "booked_by"]
    fields = ["appointment", "employer", "booked_by", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EmployerBooking | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EmployerBooking | None = None) -> bool:
        return False
