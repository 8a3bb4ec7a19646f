"""Reads for "which locations does this person work at" (README "Staff and locations")."""

from __future__ import annotations

from django.http import Http404

from bookings.models import Location
from bookings.scoping import limit_to_locations, location_ids_for
from desk.models import StaffAssignment


def assigned_location_ids(user) -> list[int]:
    """The provider bookings.scoping asks (registered in desk/apps.py): one query."""
    return list(StaffAssignment.objects.filter(user_id=user.pk).values_list("location_id", flat=True))


def has_no_location(user) -> bool:
    """Signed in to the desk but assigned to no location (a superuser always has every one)."""
    return location_ids_for(user) == frozenset()


def desk_locations(*, user) -> list[Location]:
    """The active locations this person works at, by name: one query."""
    return list(limit_to_locations(Location.objects.filter(is_active=True), user, path="pk").order_by("name", "pk"))


def require_known(value, known: list) -> None:
    """A location or counter asked for by id that is not one of the person's: 404, as for one that does not
    exist (so that an id of another location is not confirmed). Empty or not a number: the form's own 400."""
    value = str(value or "").strip()
    if value.isdigit() and int(value) not in {item.pk for item in known}:
        raise Http404
