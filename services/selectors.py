"""Read queries on the service catalogue."""

from collections.abc import Iterable

from django.db.models import QuerySet

from services.models import Service, ServiceOrder


def active_services() -> QuerySet[Service]:
    return Service.objects.active().order_by("display_order", "code")


def visit_order(services: Iterable[Service]) -> list[Service]:
    """The services of a one-stop visit in the order the desk runs them: each ServiceOrder rule between two
    of them is kept; otherwise by display order (one query)."""
    chosen = sorted(services, key=lambda service: (service.display_order, service.code))
    ids = {service.pk for service in chosen}
    before: dict[int, set[int]] = {service.pk: set() for service in chosen}
    for earlier, later in ServiceOrder.objects.filter(earlier__in=ids, later__in=ids).values_list(
        "earlier_id", "later_id"
    ):
        before[later].add(earlier)
    ordered: list[Service] = []
    placed: set[int] = set()
    while len(ordered) < len(chosen):
        # The first service (by display order) whose earlier ones are all placed; a cycle (refused on save,
        # services.actions) would leave none, and then display order decides.
        ready = next((s for s in chosen if s.pk not in placed and before[s.pk] <= placed), None)
        if ready is None:
            ready = next(s for s in chosen if s.pk not in placed)
        ordered.append(ready)
        placed.add(ready.pk)
    return ordered


def comes_before(earlier: Service, later: Service, *, ignore: int | None = None) -> bool:
    """Whether the rules (but the one with id `ignore`) already put `earlier` before `later`, directly or
    through others."""
    rules: dict[int, set[int]] = {}
    for first, then in ServiceOrder.objects.exclude(pk=ignore).values_list("earlier_id", "later_id"):
        rules.setdefault(first, set()).add(then)
    seen, todo = set(), [earlier.pk]
    while todo:
        current = todo.pop()
        if current == later.pk:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(rules.get(current, ()))
    return False
