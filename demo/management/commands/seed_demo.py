"""`python manage.py seed_demo`: the Maastricht desk and a second one in Eindhoven (so the start page offers
a choice of location), two demo accounts and a few weeks of appointments.

Safe to run again: it creates only what is missing. Sample appointments are booked through
bookings.actions (so they hold real counter time) and only when the desk has none yet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string

from bookings import actions
from bookings.actions import BookingError, PersonName, book_appointment
from bookings.actions.visits import book_visit
from bookings.availability import free_slots
from bookings.models import Appointment, Location, OpeningHours, Weekday
from bookings.municipalities import MAASTRICHT_REGION_MUNICIPALITIES
from bookings.visits import PartRequest, free_arrivals
from desk.actions import set_staff_locations
from desk.models import StaffAssignment
from desk.permissions import ADMINS_GROUP, DESK_STAFF_GROUP
from employers.models import Employer, EmployerMembership
from services.catalogue import DESK_SERVICES, fill_catalogue
from services.models import Service, ServiceOrder

DESK = {
    "short_code": "MAA",
    "slug": "maastricht",
    "name": "Stadskantoor Maastricht",
    "street": "Mosae Forum 10",
    "postcode": "6211 DW",
    "city": "Maastricht",
    "time_zone": "Europe/Amsterdam",
    "grid_minutes": 15,
    "ind_desk_key": "6c5280823686521552efe85094e607cf",
}
# What the public pages and e-mails show about the desk: its name, how to reach it, where to go in the
# building. Made up but plausible (an example.org address, a number nobody answers); filled in on an
# existing demo desk where still empty, so an admin's own text is kept.
DESK_PUBLIC = {
    "public_name": "Expat Centre Maastricht Region",
    "contact_email": "desk@expatcentre-maastricht.example.org",
    "contact_phone": "+31 43 123 4567",
    "directions_en": (
        "Enter the city office (Stadskantoor) by the main entrance on Mosae Forum; the entrance is step-free. "
        "Take the lift or the stairs to the first floor and report to the expat desk, counters 1 to 3."
    ),
    "directions_nl": (
        "Ga het Stadskantoor binnen via de hoofdingang aan het Mosae Forum; de ingang is drempelvrij. Neem de "
        "lift of de trap naar de eerste verdieping en meld u bij de expatbalie, loket 1 tot en met 3."
    ),
}
COUNTER_NAMES = ("Counter 1", "Counter 2", "Counter 3")
OPEN_DAYS = (Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY)
OPEN_INTERVALS = ((time(9, 0), time(12, 30)), (time(13, 30), time(17, 0)))


@dataclass(frozen=True)
class DemoDesk:
    """One demo location: its settings, public details, counters, opening days and what it offers."""

    fields: dict
    public: dict
    counter_names: tuple[str, ...]
    open_days: tuple[int, ...]
    intervals: tuple[tuple[time, time], ...]
    municipalities: tuple[str, ...]
    service_codes: tuple[str, ...] | None  # None: every desk service


MAASTRICHT = DemoDesk(
    fields=DESK,
    public=DESK_PUBLIC,
    counter_names=COUNTER_NAMES,
    open_days=OPEN_DAYS,
    intervals=OPEN_INTERVALS,
    municipalities=MAASTRICHT_REGION_MUNICIPALITIES,
    service_codes=None,
)
# A second desk in another region: other days, two counters, no registration for non-EU nationals and no
# immigration advice, its own municipalities, short code, address name and (made-up) IND desk key.
EINDHOVEN = DemoDesk(
    fields={
        "short_code": "EHV",
        "slug": "eindhoven",
        "name": "Brainport Expat Centre",
        "street": "Stadhuisplein 10",
        "postcode": "5611 EM",
        "city": "Eindhoven",
        "time_zone": "Europe/Amsterdam",
        "grid_minutes": 10,
        "ind_desk_key": "3f1e6b0a9c2d4e5f8a7b6c5d4e3f2a1b",
        "arrive_early_minutes": 5,
    },
    public={
        "public_name": "Expat Centre Eindhoven (Brainport)",
        "contact_email": "desk@expatcentre-eindhoven.example.org",
        "contact_phone": "+31 40 123 4567",
        "directions_en": (
            "Enter the city hall by the main entrance; the expat desk is on the ground floor, counters A and B."
        ),
        "directions_nl": (
            "Ga het stadhuis binnen via de hoofdingang; de expatbalie is op de begane grond, loket A en B."
        ),
    },
    counter_names=("Counter A", "Counter B"),
    open_days=(Weekday.MONDAY, Weekday.FRIDAY),
    intervals=((time(8, 30), time(12, 0)), (time(13, 0), time(16, 0))),
    municipalities=(
        "Best",
        "Eindhoven",
        "Geldrop-Mierlo",
        "Helmond",
        "Nuenen, Gerwen en Nederwetten",
        "Son en Breugel",
        "Veldhoven",
        "Waalre",
    ),
    service_codes=("registration-eu", "biometrics", "document-pickup", "residence-sticker"),
)
DEMO_DESKS = (MAASTRICHT, EINDHOVEN)

STAFF_GROUP = DESK_STAFF_GROUP
ADMIN_GROUP = ADMINS_GROUP
STAFF_USERNAME = "desk"
ADMIN_USERNAME = "admin"
# A recognised sponsor, approved, whose HR staff member books for new employees (employers/).
EMPLOYER_NAME = "Brightlands Demo B.V."
EMPLOYER_SPONSOR_NUMBER = "12345678"
HR_USERNAME = "hr@brightlands.example"
# Desk staff look everything up and cancel appointments (through the admin action); admins configure.
STAFF_PERMISSIONS = [
    ("bookings", "view_location"),
    ("bookings", "view_counter"),
    ("bookings", "view_openinghours"),
    ("bookings", "view_closure"),
    ("bookings", "view_appointment"),
    ("bookings", "change_appointment"),
    ("bookings", "view_person"),
    ("bookings", "view_slotclaim"),
    ("bookings", "view_appointmentevent"),
    ("bookings", "view_outboxemail"),
    ("bookings", "view_counterblock"),
    ("services", "view_service"),
]
ADMIN_APPS = ("bookings", "services", "employers", "desk", "queueing")

SAMPLE_DAYS = 21
SAMPLE_SEED = 2020  # the year the desk opened; a fixed seed gives the same demo every time
READABLE_CHARS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# Fake but plausible households, as their names appear on an ID, in several scripts.
# (last name, first names of the household, e-mail local part at example.org)
HOUSEHOLDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Rossi", ("Sofia", "Marco", "Giulia", "Luca"), "sofia.rossi"),
    ("Müller", ("Lukas", "Anna", "Jonas"), "lukas.mueller"),
    ("Wójcik", ("Zofia", "Piotr"), "zofia.wojcik"),
    ("Ferreira", ("João", "Mariana", "Tiago"), "joao.ferreira"),
    ("García López", ("Mateo", "Lucía"), "mateo.garcia"),
    ("Lefèvre", ("Émilie",), "emilie.lefevre"),
    ("Østergaard", ("Søren", "Ida"), "soren.ostergaard"),
    ("Yılmaz", ("Ayşe", "Emre", "Elif"), "ayse.yilmaz"),
    ("Okafor", ("Chidi", "Ngozi", "Amara"), "chidi.okafor"),
    ("Popescu", ("Ana", "Andrei"), "ana.popescu"),
    ("Nguyễn", ("Ngọc Anh",), "ngocanh.nguyen"),
    ("Sharma", ("Priya", "Rohan", "Aarav"), "priya.sharma"),
    ("शर्मा", ("अनन्या", "विहान"), "ananya.sharma"),
    ("Коваленко", ("Олена", "Андрій"), "olena.kovalenko"),
    ("Смирнов", ("Дмитрий",), "dmitry.smirnov"),
    ("Παπαδοπούλου", ("Ελένη",), "eleni.papadopoulou"),
    ("حداد", ("ليلى", "يوسف", "سارة"), "layla.haddad"),
    ("الخطيب", ("عمر",), "omar.alkhatib"),
    ("王", ("伟", "芳", "明"), "wei.wang"),
    ("李", ("娜",), "na.li"),
    ("高橋", ("陽翔", "さくら"), "haruto.takahashi"),
    ("김", ("지민", "서연"), "jimin.kim"),
    ("כהן", ("נועה",), "noa.cohen"),
    ("Ní Bhriain", ("Aoife",), "aoife.nibhriain"),
)
# How many persons a sample booking is for: mostly one, sometimes a family.
PERSONS_WEIGHTS = {1: 60, 2: 22, 3: 12, 4: 6}


@dataclass
class Account:
    username: str
    role: str
    password: str | None  # set only when created or reset by this run


class Command(BaseCommand):
    help = (
        "Create the Maastricht and Eindhoven demo desks, a desk-staff and an admin account, an approved employer "
        "with an HR account, and sample appointments. "
        "Running it again does no harm."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never do this on a live system)."
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the existing demo accounts new passwords and print them.",
        )

    def handle(self, *args: Any, force: bool, reset_passwords: bool, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates demo accounts and fake appointments, so it refuses to run with DEBUG off. "
                "Use --force if this really is a demo system."
            )
        with transaction.atomic():
            services = ensure_services()
        # Each an action: a transaction of its own.
        locations = [ensure_location(services=services, desk=desk) for desk in DEMO_DESKS]
        with transaction.atomic():
            accounts = ensure_accounts(reset_passwords=reset_passwords)
        staff = get_user_model().objects.get(username=STAFF_USERNAME)
        booked: list[int | None] = []
        for location in locations:
            if Appointment.objects.filter(location=location).exists():
                booked.append(None)
            else:
                offered = [service for service in services if location.offers.filter(service=service).exists()]
                booked.append(book_samples(location=location, services=offered, staff=staff))
        assign_demo_staff(staff=staff, location=locations[0])  # the desk user works at Maastricht
        self.report(locations=locations, accounts=accounts, booked=booked)

    def report(self, *, locations: list[Location], accounts: list[Account], booked: list[int | None]) -> None:
        out = self.stdout
        site = settings.EXPATDESK_SITE_URL.rstrip("/")
        out.write(self.style.SUCCESS("ExpatDesk demo data is ready."))
        for location, samples in zip(locations, booked, strict=True):
            counters = location.counters.count()
            out.write(f"  Location:     {location.name} ({location.short_code}), {location.address}")
            out.write(f"  Public pages: {site}{reverse('bookings:start', kwargs={'location': location.slug})}")
            out.write(f"  Counters:     {counters}")
            for weekday, intervals in opening_summary(location=location).items():
                out.write(f"  Open:         {weekday} {intervals}")
            if samples is None:
                total = Appointment.objects.filter(location=location).count()
                out.write(f"  Appointments: the desk already has {total}; no samples added.")
            else:
                out.write(f"  Appointments: {samples} sample bookings over the next {SAMPLE_DAYS} days.")
        out.write("")
        out.write(
            f"  Sign in at {site}{resolve_url(settings.LOGIN_URL)} (the admin is at {site}{reverse('admin:index')}):"
        )
        for account in accounts:
            if account.password:
                out.write(
                    self.style.WARNING(
                        f"    {account.role:<11} username {account.username:<6} password {account.password}"
                    )
                )
            else:
                out.write(f"    {account.role:<11} username {account.username:<6} (exists; password unchanged)")
        out.write(
            f"  Employer HR staff ({EMPLOYER_NAME}) sign in at {site}{reverse('employers:login')} and book "
            f"for employees on the public pages; their bookings are at {site}{reverse('employers:bookings')}."
        )
        if not all(account.password for account in accounts):
            out.write("  Forgot a password? Run: python manage.py seed_demo --reset-passwords")
        if getattr(settings, "EXPATDESK_REQUIRE_2FA", False):
            out.write("  The first sign-in sets up an authenticator app: scan the QR code, or type the key shown.")
            out.write("  To look around without one, start with EXPATDESK_REQUIRE_2FA=false (never in production).")


def ensure_services() -> list[Service]:
    """The six desk services, created from the catalogue where missing; admins' edits are kept."""
    fill_catalogue(Service, ServiceOrder)  # and the visit order of the catalogue (registration first)
    by_code = {service.code: service for service in Service.objects.filter(code__in=[d["code"] for d in DESK_SERVICES])}
    return [by_code[data["code"]] for data in DESK_SERVICES]


def ensure_location(*, services: list[Service], desk: DemoDesk = MAASTRICHT) -> Location:
    """A demo desk, its counters, opening hours, municipalities and the services it offers, through the
    configuration action (as the admin saves them); what exists already is kept, and public details missing
    on an older demo desk are filled in."""
    location = Location.objects.filter(short_code=desk.fields["short_code"]).first()
    offered = [s for s in services if desk.service_codes is None or s.code in desk.service_codes]
    existing = set(location.counters.values_list("name", flat=True)) if location else set()
    counters = [
        actions.CounterSpec(pk=None, name=name, service_ids=frozenset(service.pk for service in offered))
        for name in desk.counter_names
        if name not in existing
    ]
    hours = None
    if location is None or not OpeningHours.objects.filter(location=location).exists():
        hours = [
            actions.HoursRow(weekday=weekday, start_time=start, end_time=end)
            for weekday in desk.open_days
            for start, end in desk.intervals
        ]
    offers = None
    if location is None or not location.offers.exists():
        offers = [actions.OfferSpec(service_id=service.pk) for service in offered]
    public = {**desk.public, "municipalities": "\n".join(desk.municipalities)}
    if location is None:
        fields = {**desk.fields, **public}
    else:  # a demo desk from before these fields existed
        fields = {field: value for field, value in public.items() if not getattr(location, field)}
    if location is None or counters or hours is not None or fields or offers is not None:
        location = actions.configure_location(
            location=location,
            fields=fields,
            counters=counters,
            opening_hours=hours,
            offers=offers,
            now=timezone.now(),
        )
    return location


def opening_summary(*, location: Location) -> dict[str, str]:
    """The regular opening hours per weekday, as "09:00-12:30, 13:30-17:00" (en dashes in the output)."""
    summary: dict[str, list[str]] = {}
    for hours in OpeningHours.objects.filter(location=location).order_by("weekday", "start_time"):
        summary.setdefault(str(Weekday(hours.weekday).label), []).append(
            f"{hours.start_time:%H:%M}–{hours.end_time:%H:%M}"
        )
    return {weekday: ", ".join(intervals) for weekday, intervals in summary.items()}


def _permissions(pairs: list[tuple[str, str]]) -> list[Permission]:
    wanted = set(pairs)
    found = [
        permission
        for permission in Permission.objects.filter(content_type__app_label__in={app for app, _ in pairs})
        .select_related("content_type")
        .filter(codename__in={codename for _, codename in pairs})
        if (permission.content_type.app_label, permission.codename) in wanted
    ]
    if len(found) != len(wanted):
        raise CommandError("Some permissions are missing; run `python manage.py migrate` first.")
    return found


def ensure_accounts(*, reset_passwords: bool) -> list[Account]:
    staff_group, _created = Group.objects.get_or_create(name=STAFF_GROUP)
    staff_group.permissions.add(*_permissions(STAFF_PERMISSIONS))
    admin_group, _created = Group.objects.get_or_create(name=ADMIN_GROUP)
    admin_group.permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))

    accounts = [
        _ensure_user(
            username=ADMIN_USERNAME,
            role="Admin",
            group=admin_group,
            superuser=True,
            staff=True,
            reset_password=reset_passwords,
        ),
        # Desk staff reach the desk through their group; without is_staff they do not reach the admin.
        _ensure_user(
            username=STAFF_USERNAME,
            role="Desk staff",
            group=staff_group,
            superuser=False,
            staff=False,
            reset_password=reset_passwords,
        ),
        _ensure_employer_hr(reset_password=reset_passwords),
    ]
    return accounts


def _ensure_user(
    *, username: str, role: str, group: Group | None, superuser: bool, staff: bool, reset_password: bool
) -> Account:
    user_model = get_user_model()
    user: AbstractUser | None = user_model.objects.filter(username=username).first()
    password = None
    if user is None:
        password = get_random_string(16, READABLE_CHARS)
        user = user_model.objects.create_user(
            username=username,
            email=username if "@" in username else f"{username}@example.org",
            password=password,
            is_staff=staff,
            is_superuser=superuser,
        )
    elif reset_password:
        password = get_random_string(16, READABLE_CHARS)
        user.set_password(password)
        user.save(update_fields=["password"])
    if user.is_staff != staff:  # a demo made by an earlier version gave desk staff the admin
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    if group is not None:
        user.groups.add(group)
    return Account(username=username, role=role, password=password)


def _ensure_employer_hr(*, reset_password: bool) -> Account:
    """The demo employer, approved, with its HR staff member (signs in at /employer/login/)."""
    account = _ensure_user(
        username=HR_USERNAME,
        role="Employer HR",
        group=None,
        superuser=False,
        staff=False,
        reset_password=reset_password,
    )
    user = get_user_model().objects.get(username=HR_USERNAME)
    if not EmployerMembership.objects.filter(user=user).exists():
        employer = Employer.objects.filter(name=EMPLOYER_NAME).first() or Employer.objects.create(
            name=EMPLOYER_NAME,
            sponsor_number=EMPLOYER_SPONSOR_NUMBER,
            contact_name="Demo HR",
            is_approved=True,
            approved_at=timezone.now(),
            created_at=timezone.now(),
        )
        EmployerMembership.objects.create(user=user, employer=employer)
    return account


def assign_demo_staff(*, staff: AbstractUser, location: Location) -> None:
    """The demo desk user works at the demo location (desk.StaffAssignment; the other locations they
    already have are kept). Through the action, so the assignment is in its audit trail."""
    if not StaffAssignment.objects.filter(user=staff, location=location).exists():
        current = [assignment.location for assignment in StaffAssignment.objects.filter(user=staff)]
        set_staff_locations(user=staff, locations=[*current, location], now=timezone.now(), actor=None)


def _open_days(*, location: Location, first: date, days: int) -> list[date]:
    weekdays = set(OpeningHours.objects.filter(location=location).values_list("weekday", flat=True))
    return [
        first + timedelta(days=offset)
        for offset in range(days)
        if (first + timedelta(days=offset)).weekday() in weekdays
    ]


def book_samples(*, location: Location, services: list[Service], staff: AbstractUser) -> int:
    """Book 6 to 10 appointments on each open day of the next weeks, each through book_appointment."""
    rng = random.Random(SAMPLE_SEED)
    now = timezone.now()
    today = now.astimezone(location.tz).date()
    bookable = [service for service in services if service.is_active]
    booked = 0
    for day in _open_days(location=location, first=today, days=SAMPLE_DAYS):
        for _attempt in range(rng.randint(6, 10)):
            service = rng.choice(bookable)
            last_name, first_names, email = rng.choice(HOUSEHOLDS)
            persons = rng.choices(list(PERSONS_WEIGHTS), weights=list(PERSONS_WEIGHTS.values()))[0]
            persons = min(persons, service.max_persons, len(first_names))
            slots = free_slots(
                location=location, service=service, persons=persons, start_date=day, end_date=day, now=now
            )
            if not slots.get(day):
                continue
            municipality = ""
            if service.requires_municipality:
                names = location.municipality_list
                municipality = names[0] if rng.random() < 0.5 else rng.choice(names)
            try:
                book_appointment(
                    location=location,
                    service=service,
                    start=rng.choice(slots[day]).start,
                    names=[PersonName(first_name=first, last_name=last_name) for first in first_names[:persons]],
                    contact_email=f"{email}@example.org",
                    phone=f"+31 6 {rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.4 else "",
                    language="nl" if rng.random() < 0.15 else "en",
                    municipality=municipality,
                    now=now,
                    booked_by=staff if rng.random() < 0.2 else None,
                )
            except BookingError:
                continue  # someone else (or a real user on a shared demo) took the time meanwhile
            booked += 1
        booked += book_sample_visit(location=location, services=bookable, day=day, rng=rng, now=now)
    return booked


def book_sample_visit(*, location: Location, services: list[Service], day: date, rng, now) -> int:
    """Now and then a family's one-stop visit: registration for everyone, biometrics for the adults (1 booked,
    0 where the location offers no such pair or the day has no arrival left)."""
    by_code = {service.code: service for service in services}
    registration, biometrics = by_code.get("registration-non-eu"), by_code.get("biometrics")
    if registration is None or biometrics is None or rng.random() < 0.5:
        return 0
    last_name, first_names, email = rng.choice([household for household in HOUSEHOLDS if len(household[1]) > 2])
    persons = tuple(range(1, min(len(first_names), 4) + 1))
    parts = [PartRequest(registration, persons), PartRequest(biometrics, persons[:2])]
    arrivals = free_arrivals(location=location, parts=parts, start_date=day, end_date=day, now=now).get(day)
    if not arrivals:
        return 0
    try:
        book_visit(
            location=location,
            parts=parts,
            start=rng.choice(arrivals).start,
            names=[PersonName(first_name=first, last_name=last_name) for first in first_names[: len(persons)]],
            contact_email=f"{email}@example.org",
            municipality=location.municipality_list[0],
            now=now,
        )
    except BookingError:
        return 0
    return 1
