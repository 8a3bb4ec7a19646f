"""Admin for employers: approve sign-ups (through employers.actions), manage their HR staff; bookings read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings.actions import BookingError
from bookings.admin.scoped import LocationScoped, NationalData
from employers import selectors
from employers.actions import approve_employer
from employers.models import Employer, EmployerBooking, EmployerMembership


def _same_sponsor_number() -> Exists:
    """Another employer gave the same (non-empty) sponsor number, in any capitals."""
    return Exists(
        Employer.objects.filter(sponsor_number__iexact=OuterRef("sponsor_number"))
        .exclude(pk=OuterRef("pk"))
        .exclude(sponsor_number="")
    )


class DuplicateSponsorNumberFilter(admin.SimpleListFilter):
    title = _("sponsor number")
    parameter_name = "sponsor_number_used"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("twice", _("also given by another employer"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Employer]) -> QuerySet[Employer]:
        if self.value() == "twice":
            return queryset.filter(_duplicate_sponsor=True)
        return queryset


class MembershipInline(admin.TabularInline):
    model = EmployerMembership
    fields = ["user"]
    raw_id_fields = ["user"]
    extra = 0
    verbose_name_plural = _("HR staff (their accounts become active when the employer is approved)")


@admin.register(Employer)
class EmployerAdmin(NationalData, admin.ModelAdmin):
    list_display = [
        "name",
        "sponsor_number",
        "duplicate_sponsor_number",
        "contact_name",
        "is_approved",
        "created_at",
        "hr_staff",
    ]
    list_filter = ["is_approved", DuplicateSponsorNumberFilter]
    search_fields = ["name", "sponsor_number", "contact_name"]
    fields = [
        "name",
        "sponsor_number",
        "same_sponsor_number",
        "contact_name",
        "language",
        "is_approved",
        "approved_at",
        "approved_by",
        "created_at",
    ]
    readonly_fields = ["same_sponsor_number", "language", "is_approved", "approved_at", "approved_by", "created_at"]
    inlines = [MembershipInline]
    actions = ["approve_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # employers sign up at /employer/sign-up/

    def get_queryset(self, request: HttpRequest) -> QuerySet[Employer]:
        return (
            super()
            .get_queryset(request)
            .annotate(_hr_staff=Count("memberships"), _duplicate_sponsor=_same_sponsor_number())
        )

    @admin.display(description=_("HR staff"), ordering="_hr_staff")
    def hr_staff(self, obj: Employer) -> int:
        return obj._hr_staff

    @admin.display(description=_("Sponsor number also given by another employer"), boolean=True)
    def duplicate_sponsor_number(self, obj: Employer) -> bool:
        return obj._duplicate_sponsor

    @admin.display(description=_("Same sponsor number"))
    def same_sponsor_number(self, obj: Employer) -> str:
        others = selectors.employers_with_sponsor_number(employer=obj)
        if not others:
            return _("No other employer gave this number.")
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:employers_employer_change", args=[other.pk]), other.name) for other in others),
        )
        return format_html("{} {}", _("Check before approving; also given by:"), links)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        employer = self.get_object(request, object_id)
        if (
            employer is not None
            and request.method == "GET"
            and selectors.employers_with_sponsor_number(employer=employer)
        ):
            self.message_user(
                request,
                _("Another employer gave the same sponsor number: check before approving."),
                level=messages.WARNING,
            )
        return super().change_view(request, object_id, form_url, extra_context)

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
class EmployerBookingAdmin(LocationScoped, admin.ModelAdmin):
    """An employer's bookings, of the admin's locations only (README "Staff and locations")."""

    location_path = "appointment__location"
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
