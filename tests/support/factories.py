"""factory-boy factories for the models; each builds a valid object with the fewest decisions."""

from datetime import UTC, datetime, time, timedelta

import factory

from bookings.models import Appointment, AppointmentStatus, Counter, Location, LocationService, OpeningHours
from bookings.municipalities import MAASTRICHT_REGION_MUNICIPALITIES
from services.models import Service


def offer(location: Location, services, **rules) -> None:
    """Let `location` offer `services` (with its own `minimum_notice_minutes` / `booking_horizon_days`)."""
    for service in services:
        LocationService.objects.update_or_create(location=location, service=service, defaults=rules)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    code = factory.Sequence(lambda n: f"test-service-{n}")
    name_en = factory.Sequence(lambda n: f"Test service {n}")
    name_nl = factory.Sequence(lambda n: f"Testdienst {n}")
    description_en = "A service for tests."
    description_nl = "Een dienst voor tests."
    duration_minutes = 15
    max_persons = 6
    minimum_notice_minutes = 0
    booking_horizon_days = 42
    display_order = factory.Sequence(lambda n: 100 + n)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Test desk {n}")
    slug = factory.Sequence(lambda n: f"test-desk-{n}")
    short_code = factory.Sequence(lambda n: "T" + "".join(chr(65 + int(d)) for d in f"{n:03d}"))
    street = "Mosae Forum 10"
    postcode = "6211 DW"
    city = "Maastricht"
    grid_minutes = 15
    municipalities = "\n".join(MAASTRICHT_REGION_MUNICIPALITIES)


class CounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Counter
        skip_postgeneration_save = True

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Counter {n}")

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)
            # A counter's services are offered at its location (tests that want otherwise remove the offer).
            for service in extracted:
                LocationService.objects.get_or_create(location=self.location, service=service)


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    location = factory.SubFactory(LocationFactory)
    weekday = 1
    start_time = time(9, 0)
    end_time = time(12, 30)


def make_desk(*, services: list[Service], counters: int = 3, weekdays: tuple[int, ...] = (1, 2, 3), **location_kwargs):
    """A location open 09:00–12:30 and 13:30–17:00 on `weekdays`, with `counters` counters serving `services`."""
    location = LocationFactory(**location_kwargs)
    for index in range(counters):
        CounterFactory(location=location, name=f"Counter {index + 1}", services=services)
    for weekday in weekdays:
        OpeningHoursFactory(location=location, weekday=weekday, start_time=time(9, 0), end_time=time(12, 30))
        OpeningHoursFactory(location=location, weekday=weekday, start_time=time(13, 30), end_time=time(17, 0))
    return location


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A bare appointment row, held by default, for tests that set the rows up themselves (no claims: the
    actions make those); a booking made the real way is actions.book_appointment."""

    class Meta:
        model = Appointment

    reference = factory.Sequence(lambda n: f"TEST-{n:06d}")
    service = factory.SubFactory(ServiceFactory)
    location = factory.SubFactory(LocationFactory)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    end = factory.LazyAttribute(lambda appointment: appointment.start + timedelta(minutes=15))
    persons = 1
    status = AppointmentStatus.HELD
    created_at = factory.LazyAttribute(lambda appointment: appointment.start - timedelta(days=1))
