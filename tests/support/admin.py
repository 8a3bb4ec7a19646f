"""Signing in to the admin past the second factor, and posting its location page."""

from django.urls import reverse

from bookings.models import Location


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def location_post_data(location: Location, **extra) -> dict:
    data = {
        "name": location.name,
        "slug": location.slug,
        "short_code": location.short_code,
        "is_active": "on",
        "street": location.street,
        "postcode": location.postcode,
        "city": location.city,
        "time_zone": location.time_zone,
        "grid_minutes": str(location.grid_minutes),
        "ind_desk_key": "",
        "arrive_early_minutes": str(location.arrive_early_minutes),
        "max_wait_minutes": str(location.max_wait_minutes),
        "municipalities": location.municipalities,
    }
    for prefix in ("offers", "counters", "opening_hours", "closures"):
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    return data | extra


def management_forms_for_existing(location: Location) -> dict:
    """The inline rows a location already has, posted back unchanged."""
    data = {"counters-TOTAL_FORMS": str(location.counters.count() + 0)}
    data["counters-INITIAL_FORMS"] = data["counters-TOTAL_FORMS"]
    for index, counter in enumerate(location.counters.order_by("pk")):
        data |= {
            f"counters-{index}-id": str(counter.pk),
            f"counters-{index}-location": str(location.pk),
            f"counters-{index}-name": counter.name,
            f"counters-{index}-services": [str(pk) for pk in counter.services.values_list("pk", flat=True)],
            f"counters-{index}-is_active": "on" if counter.is_active else "",
        }
    offers = list(location.offers.order_by("pk"))
    data |= {"offers-TOTAL_FORMS": str(len(offers)), "offers-INITIAL_FORMS": str(len(offers))}
    for index, offer in enumerate(offers):
        data |= {
            f"offers-{index}-id": str(offer.pk),
            f"offers-{index}-location": str(location.pk),
            f"offers-{index}-service": str(offer.service_id),
            f"offers-{index}-minimum_notice_minutes": ""
            if offer.minimum_notice_minutes is None
            else str(offer.minimum_notice_minutes),
            f"offers-{index}-booking_horizon_days": ""
            if offer.booking_horizon_days is None
            else str(offer.booking_horizon_days),
        }
    hours = list(location.opening_hours.order_by("pk"))
    data |= {"opening_hours-TOTAL_FORMS": str(len(hours)), "opening_hours-INITIAL_FORMS": str(len(hours))}
    for index, row in enumerate(hours):
        data |= {
            f"opening_hours-{index}-id": str(row.pk),
            f"opening_hours-{index}-location": str(location.pk),
            f"opening_hours-{index}-weekday": str(row.weekday),
            f"opening_hours-{index}-start_time": row.start_time.strftime("%H:%M"),
            f"opening_hours-{index}-end_time": row.end_time.strftime("%H:%M"),
        }
    return data
