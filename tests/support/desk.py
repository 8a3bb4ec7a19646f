"""Helpers for the desk tests: staff users in the two roles, signed in past the second factor.

Desk staff work at locations (desk.StaffAssignment): `desk_staff()` is assigned to every location that
exists when it is made (the test's desk), or to the `locations` given."""

from datetime import datetime

from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from bookings import actions
from bookings.models import Appointment, Location
from desk.actions import set_staff_locations
from desk.models import StaffAssignment
from desk.permissions import ADMINS_GROUP, DESK_STAFF_GROUP
from services.models import Service

PASSWORD = "correct horse battery staple 42"


def make_user(username: str, *, group: str | None, is_staff: bool = False, is_superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=is_staff, is_superuser=is_superuser)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def assign(user: User, *locations: Location) -> User:
    """Give the user these locations too (through the action, as the admin does)."""
    current = [assignment.location for assignment in StaffAssignment.objects.filter(user=user)]
    set_staff_locations(user=user, locations=[*current, *locations], now=timezone.now(), actor=None)
    return user


def desk_staff(username: str = "desk", *, locations: list[Location] | None = None) -> User:
    user = make_user(username, group=DESK_STAFF_GROUP)
    return assign(user, *(Location.objects.all() if locations is None else locations))


def desk_admin(username: str = "boss") -> User:
    """A superuser in the Admins group: every location."""
    return make_user(username, group=ADMINS_GROUP, is_staff=True, is_superuser=True)


def location_admin(username: str, *, locations: list[Location]) -> User:
    """An admin (Admins group, every permission on bookings, services, employers and desk) limited to
    `locations`: not a superuser."""
    user = make_user(username, group=ADMINS_GROUP, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=("bookings", "services", "employers", "desk"))
    )
    return assign(user, *locations)


def hr_staff(email: str = "hr@brightlands.example", *, approved: bool = True):
    """HR staff of an (approved) employer: signs in to the employer pages, not the desk or the admin."""
    from employers import actions as employer_actions

    employer = employer_actions.sign_up_employer(
        name="Brightlands B.V.",
        sponsor_number="",
        contact_name="Hanna Rood",
        email=email,
        password="x" * 16,
        now=timezone.now(),
    )
    if approved:
        employer_actions.approve_employer(employer=employer, now=timezone.now(), actor=None)
    return User.objects.get(username=email)


def totp_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def sign_in(client, user: User, *, second_factor: bool = True):
    """A session as after password and TOTP code (or password only)."""
    client.force_login(user)
    if second_factor:
        device = totp_device(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def book(
    location: Location, service: Service, start: datetime, *, now: datetime, names=(("Anna", "Jansen"),), counter=None
) -> Appointment:
    return actions.book_appointment(
        location=location,
        service=service,
        start=start,
        names=[actions.PersonName(first_name=f, last_name=last) for f, last in names],
        contact_email="anna@example.org",
        now=now,
        counter=counter,
    ).appointment
