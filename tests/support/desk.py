"""Helpers for the desk tests: staff users in the two roles, signed in past the second factor."""

from datetime import datetime

from django.contrib.auth.models import Group, User
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from bookings import actions
from bookings.models import Appointment, Location
from desk.permissions import ADMINS_GROUP, DESK_STAFF_GROUP
from services.models import Service

PASSWORD = "correct horse battery staple 42"


def make_user(username: str, *, group: str | None, is_staff: bool = False, is_superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=is_staff, is_superuser=is_superuser)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def desk_staff(username: str = "desk") -> User:
    return make_user(username, group=DESK_STAFF_GROUP)


def desk_admin(username: str = "boss") -> User:
    return make_user(username, group=ADMINS_GROUP, is_staff=True, is_superuser=True)


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
