"""Writes of the desk app: which locations a staff member works at (README "Staff and locations")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from bookings.models import Location
from bookings.scoping import forget_location_ids
from desk.models import AssignmentChange, AssignmentEvent, StaffAssignment


def set_staff_locations(
    *,
    user: AbstractBaseUser,
    locations: Iterable[Location],
    now: datetime,
    actor: AbstractBaseUser | None,
    within: frozenset[int] | None = None,
) -> tuple[list[Location], list[Location]]:
    """Make `locations` the locations `user` works at, and record each one given or taken away.

    `within`: the location ids the actor may hand out (None: every one); assignments outside it are kept as
    they are, and locations outside it are not given. The user's row is locked, so that two admins changing
    the same person at once apply one after the other. Returns (added, removed)."""
    wanted = {location.pk: location for location in locations if within is None or location.pk in within}
    with transaction.atomic(durable=True):
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        current = {
            assignment.location_id: assignment
            for assignment in StaffAssignment.objects.filter(user=user).select_related("location")
        }
        added = [location for pk, location in sorted(wanted.items()) if pk not in current]
        removed = [
            assignment.location
            for pk, assignment in sorted(current.items())
            if pk not in wanted and (within is None or pk in within)
        ]
        StaffAssignment.objects.bulk_create(
            [StaffAssignment(user=user, location=location, assigned_at=now) for location in added]
        )
        if removed:
            StaffAssignment.objects.filter(user=user, location__in=removed).delete()
        AssignmentEvent.objects.bulk_create(
            [
                AssignmentEvent(
                    user=user, location=location, location_name=location.name, kind=kind, at=now, actor=actor
                )
                for kind, changed in ((AssignmentChange.ASSIGNED, added), (AssignmentChange.UNASSIGNED, removed))
                for location in changed
            ]
        )
    forget_location_ids(user)
    return added, removed
