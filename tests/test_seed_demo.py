"""`manage.py seed_demo`: the Maastricht desk, its accounts and sample bookings; running it twice does no harm."""

import re
from datetime import time, timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.shortcuts import resolve_url
from django.utils import timezone

from bookings.availability import units_per_person
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Counter,
    Location,
    OpeningHours,
    Person,
    SlotClaim,
)
from bookings.selectors import visit_parts
from employers.models import Employer, EmployerMembership
from services.catalogue import DESK_SERVICES
from services.models import Service

pytestmark = pytest.mark.django_db

HR = "hr@brightlands.example"


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"username (\S+)\s+password (\S+)", output))


def counts() -> dict[str, int]:
    user_model = get_user_model()
    return {
        "locations": Location.objects.count(),
        "counters": Counter.objects.count(),
        "counter services": Counter.services.through.objects.count(),
        "opening hours": OpeningHours.objects.count(),
        "services": Service.objects.count(),
        "users": user_model.objects.count(),
        "employers": Employer.objects.count(),
        "memberships": EmployerMembership.objects.count(),
        "appointments": Appointment.objects.count(),
        "persons": Person.objects.count(),
        "claims": SlotClaim.objects.count(),
        "events": AppointmentEvent.objects.count(),
    }


def test_seed_demo_builds_the_maastricht_desk_and_a_second_run_changes_nothing(settings):
    settings.DEBUG = True
    started = timezone.now()

    output = seed()

    location = Location.objects.get(short_code="MAA")
    assert (location.name, location.street, location.postcode, location.city, location.short_code) == (
        "Stadskantoor Maastricht",
        "Mosae Forum 10",
        "6211 DW",
        "Maastricht",
        "MAA",
    )
    assert location.ind_desk_key == "6c5280823686521552efe85094e607cf"
    assert Service.objects.count() == 6
    assert set(Service.objects.values_list("code", flat=True)) == {data["code"] for data in DESK_SERVICES}
    counters = list(location.counters.prefetch_related("services"))
    assert len(counters) == 3
    for counter in counters:
        assert counter.is_active
        assert {service.code for service in counter.services.all()} == {data["code"] for data in DESK_SERVICES}
    hours = sorted(location.opening_hours.values_list("weekday", "start_time", "end_time"))
    assert hours == [
        (weekday, start, end)
        for weekday in (1, 2, 3)
        for start, end in ((time(9, 0), time(12, 30)), (time(13, 30), time(17, 0)))
    ]

    user_model = get_user_model()
    admin = user_model.objects.get(username="admin")
    desk = user_model.objects.get(username="desk")
    assert admin.is_superuser and admin.is_staff
    assert list(admin.groups.values_list("name", flat=True)) == ["Admins"]
    assert not desk.is_staff and not desk.is_superuser  # the desk through the group; not the admin
    assert list(desk.groups.values_list("name", flat=True)) == ["Desk staff"]
    assert desk.has_perm("bookings.view_appointment") and desk.has_perm("bookings.change_appointment")
    assert not desk.has_perm("bookings.change_location")
    assert not desk.has_perm("employers.change_employer")
    admin_group = Group.objects.get(name="Admins")
    assert admin_group.permissions.filter(content_type__app_label="employers", codename="change_employer").exists()
    passwords = printed_passwords(output)
    assert set(passwords) == {"admin", "desk", HR}
    assert admin.check_password(passwords["admin"])
    assert desk.check_password(passwords["desk"])
    hr = user_model.objects.get(username=HR)
    assert hr.check_password(passwords[HR])
    assert hr.is_active and not hr.is_staff and not hr.is_superuser
    assert not hr.groups.exists()
    employer = Employer.objects.get()
    assert (employer.name, employer.is_approved) == ("Brightlands Demo B.V.", True)
    assert list(EmployerMembership.objects.values_list("user__username", "employer")) == [(HR, employer.pk)]
    assert "/employer/login/" in output
    assert f"Sign in at http://127.0.0.1:8000{resolve_url(django_settings.LOGIN_URL)}" in output
    assert "/admin/" in output

    appointments = list(Appointment.objects.select_related("service", "location"))
    assert len(appointments) >= 20
    for appointment in appointments:
        assert appointment.status == AppointmentStatus.BOOKED
        assert started <= appointment.start <= started + timedelta(days=21)
        assert appointment.contact_email.endswith("@example.org")
        assert appointment.people.count() == appointment.persons
        assert appointment.claims.count() == sum(
            len(part.persons) * units_per_person(location=appointment.location, service=part.service)
            for part in visit_parts(appointment)
        )
        if appointment.service.requires_municipality:
            assert appointment.municipality
    names = Person.objects.values_list("first_name", "last_name")
    assert any(not (first + last).isascii() for first, last in names)
    assert Appointment.objects.filter(persons__gt=1).exists()
    # Families' one-stop visits: registration for everyone, then biometrics for the adults.
    visits = Appointment.objects.filter(part_count=2)
    assert visits.exists()
    assert all([p.service.code for p in visit_parts(v)] == ["registration-non-eu", "biometrics"] for v in visits)

    before = counts()
    again = seed()

    assert counts() == before
    assert printed_passwords(again) == {}
    assert "exists; password unchanged" in again
    assert "--reset-passwords" in again
    admin.refresh_from_db()
    assert admin.check_password(passwords["admin"])


def test_reset_passwords_prints_new_passwords_that_work(settings):
    settings.DEBUG = True
    first = printed_passwords(seed())

    second = printed_passwords(seed("--reset-passwords"))

    user_model = get_user_model()
    assert set(second) == {"admin", "desk", HR}
    for username, password in second.items():
        assert password != first[username]
        assert user_model.objects.get(username=username).check_password(password)


def test_refuses_to_run_with_debug_off_unless_forced(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert Location.objects.count() == 0
    assert get_user_model().objects.count() == 0

    seed("--force")
    assert Location.objects.filter(short_code="MAA").exists()


def test_keeps_an_admins_changes_to_the_desk(settings):
    settings.DEBUG = True
    seed()
    counter = Counter.objects.get(name="Counter 3")
    counter.services.set(Service.objects.filter(code="biometrics"))
    OpeningHours.objects.filter(weekday=3).delete()

    seed()

    assert list(counter.services.values_list("code", flat=True)) == ["biometrics"]
    assert not OpeningHours.objects.filter(weekday=3).exists()


def test_the_demo_desk_has_contact_details_and_directions_in_both_languages(settings):
    settings.DEBUG = True
    seed()
    location = Location.objects.get(short_code="MAA")
    assert location.display_name == "Expat Centre Maastricht Region"
    assert location.contact_email.endswith(".example.org")
    assert location.contact_phone.startswith("+31 43 ")
    assert "first floor" in location.directions_en and "eerste verdieping" in location.directions_nl

    # A desk seeded before these fields existed gets them; an admin's own text is kept.
    Location.objects.filter(pk=location.pk).update(contact_phone="", directions_nl="Tweede verdieping, balie 7.")
    seed()
    location.refresh_from_db()
    assert location.contact_phone.startswith("+31 43 ")
    assert location.directions_nl == "Tweede verdieping, balie 7."


def test_the_demo_roles_reach_what_they_should(settings, client):
    settings.DEBUG = True
    settings.EXPATDESK_REQUIRE_2FA = False  # the demo without an authenticator app
    seed()
    user_model = get_user_model()
    client.force_login(user_model.objects.get(username="desk"))
    assert client.get("/desk/").status_code == 200
    admin_page = client.get("/admin/")
    assert admin_page.status_code == 302
    assert client.get(admin_page.url).status_code == 403  # desk staff do not reach the admin
    assert client.get("/employer/").status_code == 403
    client.force_login(user_model.objects.get(username=HR))
    assert client.get("/employer/").status_code == 200
    assert client.get("/desk/").status_code == 403
    client.force_login(user_model.objects.get(username="admin"))
    assert client.get("/admin/").status_code == 200


def test_a_demo_desk_account_made_as_staff_earlier_loses_the_admin(settings):
    settings.DEBUG = True
    seed()
    desk = get_user_model().objects.get(username="desk")
    desk.is_staff = True
    desk.save(update_fields=["is_staff"])
    seed()
    desk.refresh_from_db()
    assert not desk.is_staff


def test_the_demo_desk_user_works_at_the_demo_location(settings):
    from desk.models import AssignmentEvent, StaffAssignment

    settings.DEBUG = True
    seed()
    seed()
    desk = get_user_model().objects.get(username="desk")
    location = Location.objects.get(short_code="MAA")
    assert list(StaffAssignment.objects.filter(user=desk).values_list("location", flat=True)) == [location.pk]
    assert AssignmentEvent.objects.filter(user=desk).count() == 1  # the second run changes nothing


def test_the_demo_has_a_second_location_with_its_own_days_counters_services_and_municipalities(settings, client):
    settings.DEBUG = True
    output = seed()
    maastricht = Location.objects.get(short_code="MAA")
    eindhoven = Location.objects.get(short_code="EHV")
    assert (eindhoven.slug, eindhoven.city) == ("eindhoven", "Eindhoven")
    assert eindhoven.ind_desk_key and eindhoven.ind_desk_key != maastricht.ind_desk_key
    assert eindhoven.counters.count() == 2 and maastricht.counters.count() == 3
    assert set(eindhoven.opening_hours.values_list("weekday", flat=True)) == {0, 4}
    assert set(maastricht.opening_hours.values_list("weekday", flat=True)) == {1, 2, 3}
    offered = set(eindhoven.offers.values_list("service__code", flat=True))
    assert offered == {"registration-eu", "biometrics", "document-pickup", "residence-sticker"}
    assert maastricht.offers.count() == 6
    assert "Eindhoven" in eindhoven.municipality_list and "Maastricht" not in eindhoven.municipality_list
    assert "Maastricht" in maastricht.municipality_list
    assert Appointment.objects.filter(location=eindhoven).exists()
    assert not Appointment.objects.filter(location=eindhoven, service__code="immigration-advice").exists()
    for appointment in Appointment.objects.filter(location=eindhoven, municipality__gt=""):
        assert appointment.municipality in eindhoven.municipality_list
    assert "/eindhoven/" in output and "/maastricht/" in output
    page = client.get("/").content.decode()
    assert "Expat Centre Eindhoven (Brainport)" in page and "Expat Centre Maastricht Region" in page
