"""Which locations a signed-in staff member may see and act on (README "Staff and locations").

The rule itself belongs to the app that owns the assignments (`desk.StaffAssignment`): it registers its
provider at start-up (desk/apps.py), so that `bookings` (its Django admin included) asks without importing
the app above it (DESIGN.md §3). Without a provider nobody but a superuser sees a location: fail closed.

`location_ids_for(user)` answers None for "every location" (a superuser) and otherwise the set of location
ids the person is assigned to, possibly empty. It is computed once per request and kept on the user object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db.models import Q, QuerySet

EVERY_LOCATION = None
_CACHE_ATTRIBUTE = "_expatdesk_location_ids"
_provider: Callable[[object], Iterable[int]] | None = None


def register_location_scope(provider: Callable[[object], Iterable[int]] | None) -> None:
    """Set the function that lists the location ids assigned to a (non-superuser) user."""
    global _provider
    _provider = provider


def location_ids_for(user) -> frozenset[int] | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return EVERY_LOCATION
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = frozenset(_provider(user)) if _provider is not None else frozenset()
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def forget_location_ids(user) -> None:
    """After a change of the user's assignments within the same request."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def may_see_location(user, location_id: int | None) -> bool:
    ids = location_ids_for(user)
    return ids is EVERY_LOCATION or location_id in ids


def limit_to_locations(queryset: QuerySet, user, *, path: str = "location", include_every: bool = False) -> QuerySet:
    """The rows of `queryset` at the user's locations; `path` leads from the row to its location.
    `include_every`: also the rows whose location is empty (a closure of every location)."""
    ids = location_ids_for(user)
    if ids is EVERY_LOCATION:
        return queryset
    condition = Q(**{f"{path}__in": ids})
    if include_every:
        condition |= Q(**{f"{path}__isnull": True})
    return queryset.filter(condition)
