"""Read queries on the service catalogue."""

from django.db.models import QuerySet

from services.models import Service


def active_services() -> QuerySet[Service]:
    return Service.objects.active().order_by("display_order", "code")


def service_by_code(*, code: str) -> Service | None:
    return Service.objects.filter(code=code).first()
