"""Two locations side by side (issue 12): different hours, services, rules and municipalities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from bookings.availability import public_holiday_name
from bookings.models import Location
from services.models import Service
from tests.support.factories import (
    CounterFactory,
    LocationFactory,
    OpeningHoursFactory,
    ServiceFactory,
    make_desk,
    offer,
)

EINDHOVEN_MUNICIPALITIES = ("Eindhoven", "Best", "Veldhoven")


@dataclass
class TwoDesks:
    a: Location  # Maastricht: every weekday 09:00-12:30 and 13:30-17:00, three counters
    b: Location  # Eindhoven: every weekday 08:00-11:00, two counters, its own municipalities
    registration: Service  # needs a municipality; offered at both
    biometrics: Service  # offered at both; at B with its own horizon (7 days) and notice (one day)
    advice: Service  # offered at A only (B's counters serve it, but B does not offer it)


def make_two_desks() -> TwoDesks:
    registration = ServiceFactory(code="two-registration", requires_municipality=True, max_persons=6)
    biometrics = ServiceFactory(code="two-biometrics", max_persons=6)
    advice = ServiceFactory(code="two-advice", max_persons=1)
    a = make_desk(
        services=[registration, biometrics, advice],
        counters=3,
        weekdays=tuple(range(7)),
        name="Expat Centre Maastricht",
        slug="maastricht",
        short_code="MAA",
        city="Maastricht",
        ind_desk_key="6c5280823686521552efe85094e607cf",
        contact_email="desk@maastricht.example.org",
    )
    b = LocationFactory(
        name="Expat Centre Eindhoven",
        slug="eindhoven",
        short_code="EHV",
        street="Stadhuisplein 10",
        postcode="5611 EM",
        city="Eindhoven",
        grid_minutes=10,
        ind_desk_key="3f1e6b0a9c2d4e5f8a7b6c5d4e3f2a1b",
        municipalities="\n".join(EINDHOVEN_MUNICIPALITIES),
        contact_email="desk@eindhoven.example.org",
    )
    for number in (1, 2):
        CounterFactory(location=b, name=f"Counter {number}", services=[registration, biometrics, advice])
    for weekday in range(7):
        OpeningHoursFactory(location=b, weekday=weekday, start_time=time(8, 0), end_time=time(11, 0))
    # B serves advice at its counters but does not offer it; its own horizon and notice for biometrics.
    b.offers.filter(service=advice).delete()
    offer(b, [biometrics], booking_horizon_days=7, minimum_notice_minutes=24 * 60)
    return TwoDesks(a=a, b=b, registration=registration, biometrics=biometrics, advice=advice)


def working_day(after: date, *, days: int = 3) -> date:
    """A day at least `days` after `after` that is not a Dutch public holiday."""
    day = after + timedelta(days=days)
    while public_holiday_name(day):
        day += timedelta(days=1)
    return day
