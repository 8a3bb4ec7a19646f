"""The day's queue measures on the desk's agenda: `{% queue_day_totals location day %}`."""

from django import template

from queueing.selectors import day_totals

register = template.Library()


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds / 60:.1f}"


@register.inclusion_tag("queueing/_day_totals.html")
def queue_day_totals(location, day):
    totals = day_totals(location=location, day=day)
    return {
        "served": totals.served,
        "wait_minutes": _minutes(totals.average_wait_seconds),
        "service_minutes": _minutes(totals.average_service_seconds),
    }
