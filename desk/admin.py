"""The admin's "Staff locations" page: which locations each staff member works at, changed through
desk.actions.set_staff_locations (audited in "Location assignment changes")."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings.admin.through_actions import SavedThroughActions
from bookings.models import Location
from bookings.scoping import limit_to_locations, location_ids_for
from desk import actions
from desk.models import AssignmentEvent, DeskStaffMember


class StaffLocationsForm(forms.ModelForm):
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.none(),
        label=_("Locations"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The desk shows this person only these locations' agenda, bookings and counters."),
    )

    class Meta:
        model = DeskStaffMember
        fields = []


@admin.register(DeskStaffMember)
class StaffLocationsAdmin(SavedThroughActions):
    form = StaffLocationsForm
    list_display = ["username", "full_name", "location_list"]
    search_fields = ["username", "first_name", "last_name", "email"]
    readonly_fields = ["username", "full_name"]
    fields = ["username", "full_name", "locations"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # An admin limited to locations sees the active people of those locations and those without one yet
        # (not the superusers, who see every location whatever they are assigned).
        people = super().get_queryset(request)
        ids = location_ids_for(request.user)
        if ids is not None:
            people = (
                people.filter(is_active=True, is_superuser=False)
                .filter(Q(desk_assignments__location_id__in=ids) | Q(desk_assignments__isnull=True))
                .distinct()
            )
        return people.prefetch_related("desk_assignments__location").order_by("username")

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # An admin limited to locations hands out only those (the others the person has are kept).
        choices = limit_to_locations(Location.objects.order_by("name", "pk"), request.user, path="pk")
        form.base_fields["locations"].queryset = choices
        if obj is not None:
            form.base_fields["locations"].initial = [a.location_id for a in obj.desk_assignments.all()]
        return form

    def get_actions(self, request: HttpRequest) -> dict:
        found = super().get_actions(request)
        found.pop("delete_selected", None)
        return found

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people are added under Users; here they get their locations

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("name"))
    def full_name(self, obj) -> str:
        return obj.get_full_name()

    @admin.display(description=_("locations"))
    def location_list(self, obj) -> str:
        if obj.is_superuser:
            return _("every location (superuser)")
        return ", ".join(sorted(a.location.name for a in obj.desk_assignments.all())) or "—"

    def save_through_action(self, request: HttpRequest, obj, form, formsets, change: bool):
        actions.set_staff_locations(
            user=obj,
            locations=form.cleaned_data["locations"],
            now=timezone.now(),
            actor=request.user,
            within=location_ids_for(request.user),
        )
        return get_user_model().objects.get(pk=obj.pk)


@admin.register(AssignmentEvent)
class AssignmentEventAdmin(admin.ModelAdmin):
    """Who gave or took whom which location, and when: read-only."""

    list_display = ["at", "user", "kind", "location_name", "actor"]
    list_filter = ["kind"]
    search_fields = ["user__username", "location_name"]
    date_hierarchy = "at"
    list_select_related = ["user", "actor"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AssignmentEvent]:
        return limit_to_locations(super().get_queryset(request), request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
