"""`{% load desk_format %}{{ day|desk_date }}`: the desk's one date format, in the page's language.

"Tue 1 Dec 2026" in English, "di 1 dec 2026" in Dutch (the format is translated: Dutch writes months in
lower case); `desk_datetime` adds the time ("Tue 1 Dec 2026
10:15"). Aware datetimes are shown in the current time zone (the location's, see desk/views/common.py).
Action messages shown on the desk use the same format (bookings.actions.desk.DESK_DATE_FORMAT).
"""

from django import template
from django.template.defaultfilters import date as date_filter

from bookings.actions.desk import DESK_DATE_FORMAT

register = template.Library()


@register.filter(expects_localtime=True)
def desk_date(value) -> str:
    return date_filter(value, str(DESK_DATE_FORMAT))


@register.filter(expects_localtime=True)
def desk_datetime(value) -> str:
    return date_filter(value, f"{DESK_DATE_FORMAT} H:i")
