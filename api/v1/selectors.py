"""Read queries for /api/v1/. No writes."""

from __future__ import annotations

from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from bookings import availability_sql
from bookings.models import Counter, Location, LocationService, OpeningHours
from services.models import Service
from services.selectors import active_services


def _locations(*, today: date) -> QuerySet[Location]:
    return Location.objects.filter(is_active=True).prefetch_related(
        Prefetch(
            "opening_hours",
            queryset=OpeningHours.objects.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today)).order_by(
                "weekday", "start_time"
            ),
            to_attr="current_opening_hours",
        ),
        # The offers of active services that some active counter of the location serves: one query.
        Prefetch(
            "offers",
            queryset=LocationService.objects.filter(service__is_active=True)
            .filter(
                Exists(
                    Counter.services.through.objects.filter(
                        counter__location_id=OuterRef("location_id"),
                        counter__is_active=True,
                        service_id=OuterRef("service_id"),
                    )
                )
            )
            .select_related("service")
            .order_by("service__display_order", "service__code"),
            to_attr="active_offers",
        ),
    )


def active_locations(*, today: date) -> list[Location]:
    """Bookable locations with their current and future opening hours and the services they offer."""
    return list(_locations(today=today).order_by("name", "pk"))


def active_location(*, short_code: str, today: date) -> Location | None:
    return _locations(today=today).filter(short_code=short_code).first()


def bookable_location(*, short_code: str) -> Location | None:
    """The active location with this short code, or None: one plain query (a hold looks it up on every try)."""
    return availability_sql.first_of(Location, short_code=short_code, is_active=True)


def hold_target(*, short_code: str, code: str) -> tuple[Location | None, Service | None]:
    """What a hold over the API names, in one plain query: the active location with this short code
    (`bookable_location`) and the service with this code, active or not (bookings.selectors.bookable_service:
    the action tells the person when it is inactive); None for each that is not found."""
    location, service = availability_sql.first_of_each(
        (Location, {"short_code": short_code, "is_active": True}), (Service, {"code": code})
    )
    return location, service


def offers(location: Location) -> list[LocationService]:
    """The location's offers of active services that some active counter of it serves, in the catalogue's
    order (needs `active_locations`' prefetch)."""
    return list(location.active_offers)


def services_offered(location: Location) -> list[Service]:
    """The active services the location offers and some active counter of it serves (needs the prefetch)."""
    return [offer.service for offer in offers(location)]


def offered_service(*, location: Location, code: str) -> LocationService | None:
    """The location's offer of the active service with this code (with the service), or None: one plain query
    (a computed free-days or free-times answer looks it up)."""
    return availability_sql.offer_of(location_id=location.pk, code=code, is_active=True)


def bookable_offer(*, short_code: str, code: str) -> tuple[Location | None, LocationService | None, object]:
    """`bookable_location`, its offer of the active service `code` (`offered_service`) and its configuration
    version, in one plain query: a computed free-days or free-times answer asks for all three."""
    return availability_sql.location_offer_and_version(
        location_equal={"short_code": short_code, "is_active": True}, service_equal={"code": code, "is_active": True}
    )


def catalogue() -> QuerySet[Service]:
    return active_services()


def active_service(*, code: str) -> Service | None:
    return Service.objects.active().filter(code=code).first()
