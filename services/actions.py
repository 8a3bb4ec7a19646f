"""Writes to the service catalogue (DESIGN.md §3): the Django admin's saves and deletes come here.

A service's rules (duration, persons, notice, horizon, whether it is offered at all) decide which times are
free, so every change bumps the catalogue's version in the shared cache once its transaction commits: every
cached answer about free times (bookings/cache.py) carries that version in its token, and the next read
computes afresh. No location lock is taken: a booking reads its service inside its own transaction and
re-checks the rules there (bookings/actions/booking.py), so a change that commits first is seen, and a
booking that commits first stays valid (a booked appointment keeps its length; see docs/locking.md).

Not durable: the Django admin runs its change form inside its own transaction, so these blocks nest there
and the version is bumped when the admin's transaction commits.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from services.models import Service, ServiceOrder
from services.selectors import comes_before

CATALOGUE_VERSION_KEY = "availability-version:catalogue"

logger = logging.getLogger(__name__)


def bump_catalogue_version() -> None:
    """Mark every cached answer about free times stale (call after a commit). Robust when the cache is down."""
    try:
        try:
            cache.incr(CATALOGUE_VERSION_KEY)
        except ValueError:  # never read or evicted: any new value is a new version
            cache.set(CATALOGUE_VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:  # the cache is down: cached answers then live at most EXPATDESK_SLOT_CACHE_SECONDS
        logger.warning("Cache unavailable while marking the service catalogue changed.")


def save_service(*, service: Service) -> Service:
    """Create or change a service (validated first); cached free times are dropped after the commit."""
    service.full_clean()
    with transaction.atomic():
        service.save()
        transaction.on_commit(bump_catalogue_version)
    return service


def delete_service(*, service: Service) -> None:
    """Delete a service nobody booked (appointments protect theirs); cached free times are dropped."""
    with transaction.atomic():
        service.delete()
        transaction.on_commit(bump_catalogue_version)


def circle_message(order: ServiceOrder) -> str:
    return _("%(later)s already comes before %(earlier)s: this rule would make a circle.") % {
        "later": order.later,
        "earlier": order.earlier,
    }


def save_service_order(*, order: ServiceOrder) -> ServiceOrder:
    """Add or change a rule of the visit order; one that would close a circle is refused. Cached free times
    of visits follow the catalogue's version, bumped on commit."""
    order.full_clean()
    if order.earlier_id == order.later_id or comes_before(order.later, order.earlier, ignore=order.pk):
        raise ValidationError(circle_message(order))
    with transaction.atomic():
        order.save()
        transaction.on_commit(bump_catalogue_version)
    return order


def delete_service_order(*, order: ServiceOrder) -> None:
    with transaction.atomic():
        order.delete()
        transaction.on_commit(bump_catalogue_version)
