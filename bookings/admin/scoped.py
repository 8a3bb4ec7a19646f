"""Admin pages limited to the locations of the person signed in (bookings/scoping.py; README "Staff and
locations"): the list and every object page (change, delete, history: another location's object answers as
one that does not exist), the admin actions (they act on the list's rows), inlines, the location and counter
choices of a form, and the list filters (RelatedOnlyFieldListFilter offers only what the list holds).
A superuser sees everything."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from bookings.models import Counter, Location
from bookings.scoping import EVERY_LOCATION, limit_to_locations, location_ids_for


def is_unrestricted(request: HttpRequest) -> bool:
    return location_ids_for(request.user) is EVERY_LOCATION


class LocationScoped:
    """For a ModelAdmin or an inline: `location_path` leads from the model to its Location; with
    `include_every_location`, rows without a location (a closure of every location) are shown too, read-only
    for a person limited to locations."""

    location_path = "location"
    include_every_location = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return limit_to_locations(
            super().get_queryset(request),
            request.user,
            path=self.location_path,
            include_every=self.include_every_location,
        )

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.related_model is Location:
            kwargs["queryset"] = limit_to_locations(Location.objects.order_by("name", "pk"), request.user, path="pk")
            if not is_unrestricted(request):
                kwargs["required"] = True  # only a superuser makes something for every location
        elif db_field.related_model is Counter:
            kwargs["queryset"] = limit_to_locations(
                Counter.objects.select_related("location").order_by("location__name", "name"), request.user
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _touches_every_location(self, request: HttpRequest, obj) -> bool:
        if obj is None or not self.include_every_location or is_unrestricted(request):
            return False
        return getattr(obj, f"{self.location_path.split('__')[0]}_id", None) is None

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and not self._touches_every_location(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not self._touches_every_location(request, obj)


def related_only(field: str) -> tuple[str, type[admin.RelatedOnlyFieldListFilter]]:
    """A list filter that offers only the locations (counters, …) of the rows the person may see."""
    return (field, admin.RelatedOnlyFieldListFilter)


class NationalData:
    """For a ModelAdmin or an inline of installation-wide data (the service catalogue and its visit order,
    ticket letters, employers): only an admin of every location changes it. An admin limited to locations may
    read it, as a closure of every location: a change there would change every other location's desk too."""

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return is_unrestricted(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_unrestricted(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_unrestricted(request) and super().has_delete_permission(request, obj)
