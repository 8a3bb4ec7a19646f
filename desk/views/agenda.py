"""The desk's day: agenda, its auto-refreshed fragment, print view, CSV export, search."""

import csv
from datetime import date
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from desk import clock, selectors
from desk.forms import AgendaForm, ReferenceForm
from desk.locations import desk_locations, require_known
from desk.permissions import desk_required
from desk.spreadsheet import csv_safe
from desk.views.common import render_local

# How a part of a visit is getting on, in the CSV export (the agenda's templates say the same).
PART_STATES = {
    "waiting": gettext_lazy("not started"),
    "started": gettext_lazy("in progress"),
    "done": gettext_lazy("done"),
    "no_show": gettext_lazy("no-show"),
}


def _pick_day(request: HttpRequest) -> tuple[AgendaForm, selectors.Agenda | None, list, int]:
    """Read location and date from the query (defaults: the first location, today) and load that day."""
    now = clock.now()
    locations = desk_locations(user=request.user)
    if not locations:
        return AgendaForm(locations=locations), None, [], 200
    counters = selectors.desk_counters(locations=locations)
    # Another location's (or its counter's) id answers as one that does not exist: 404.
    require_known(request.GET.get("location"), locations)
    require_known(request.GET.get("counter"), counters)
    data = request.GET.copy()
    data.setdefault("location", str(locations[0].pk))
    if not data.get("day"):
        data["day"] = now.astimezone(locations[0].tz).date().isoformat()
    form = AgendaForm(data, locations=locations, counters=counters)
    if not form.is_valid():
        return form, None, [], 400
    location = form.cleaned_data["location"]
    day: date = form.cleaned_data["day"]
    agenda = selectors.day_agenda(location=location, day=day, now=now, counter=form.cleaned_data["counter"])
    results = selectors.search_appointments(query=form.cleaned_data["q"], location=location)
    return form, agenda, results, 200


def _context(request: HttpRequest) -> tuple[dict, int]:
    form, agenda, results, status = _pick_day(request)
    return {
        "form": form,
        "agenda": agenda,
        "results": results,
        "searched": bool(form.is_bound and form.is_valid() and form.cleaned_data.get("q")),
        "reference_form": ReferenceForm(),
        "now": clock.now(),
        "refresh_query": request.GET.urlencode(),
        # Where an action on a row returns to: the agenda page, also when the row came from the fragment.
        "page_url": reverse("desk:agenda") + ("?" + request.GET.urlencode() if request.GET else ""),
        # The day's own query (location, day, counter) for the print, CSV, refresh and other-day links.
        "day_query": _day_query(agenda),
        "previous_query": _day_query(agenda, day=agenda.previous_open_day) if agenda else "",
        "next_query": _day_query(agenda, day=agenda.next_open_day) if agenda else "",
    }, status


def _day_query(agenda: selectors.Agenda | None, *, day: date | None = None) -> str:
    if agenda is None:
        return ""
    params = {"location": agenda.location.pk, "day": (day or agenda.day).isoformat()}
    if agenda.counter is not None:
        params["counter"] = agenda.counter.pk
    return urlencode(params)


def _location(context: dict):
    return context["agenda"].location if context["agenda"] else None


@require_GET
@desk_required
def agenda(request: HttpRequest) -> HttpResponse:
    context, status = _context(request)
    return render_local(request, "desk/agenda.html", context, location=_location(context), status=status)


@require_GET
@desk_required
def agenda_fragment(request: HttpRequest) -> HttpResponse:
    """The part of the agenda that changes, for the page's 30-second refresh."""
    context, status = _context(request)
    return render_local(request, "desk/_agenda_day.html", context, location=_location(context), status=status)


@require_GET
@desk_required
def agenda_print(request: HttpRequest) -> HttpResponse:
    context, status = _context(request)
    agenda, form = context["agenda"], context["form"]
    after = form.cleaned_data.get("after") if agenda else None
    if after is not None:
        # "Print the afternoon": only what starts from that time on.
        tz = agenda.location.tz
        agenda.rows = [row for row in agenda.rows if row.appointment.start.astimezone(tz).time() >= after]
        context["after"] = after
    return render_local(request, "desk/agenda_print.html", context, location=_location(context), status=status)


@require_GET
@desk_required
def agenda_csv(request: HttpRequest) -> HttpResponse:
    form, agenda, _results, _status = _pick_day(request)
    if agenda is None:
        return HttpResponse(
            " ".join(str(e) for errors in form.errors.values() for e in errors) or _("No location."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    # For spreadsheets as the desk uses them (Excel in Dutch): UTF-8 with a byte-order mark, so names in
    # any script come out right, and ";" between fields, the separator Dutch Excel expects. The date is a
    # column of its own (ISO 8601, which Excel reads as a date in every language).
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"desk-{agenda.location.short_code}-{agenda.day.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(
        [
            _("date"),
            _("start"),
            _("end"),
            _("counter"),
            _("reference"),
            _("service"),
            _("persons"),
            _("names"),
            _("status"),
            _("part"),
        ]
    )
    tz = agenda.location.tz
    for row in agenda.rows:
        a = row.appointment
        start = a.start.astimezone(tz)
        writer.writerow(
            [
                start.date().isoformat(),
                start.strftime("%H:%M"),
                a.end.astimezone(tz).strftime("%H:%M"),
                row.counter_label,
                a.reference,
                a.service.name,
                a.persons,
                ", ".join(_csv_safe(name) for name in row.names),
                a.get_status_display(),
                "",
            ]
        )
        # A visit of several parts: a line per part after the visit's own, with the part's time, counters,
        # service and persons.
        for part in row.parts:
            writer.writerow(
                [
                    start.date().isoformat(),
                    part.part.start.astimezone(tz).strftime("%H:%M"),
                    part.part.end.astimezone(tz).strftime("%H:%M"),
                    part.counter_label,
                    a.reference,
                    part.part.service.name,
                    len(part.part.persons),
                    ", ".join(_csv_safe(name) for name in part.names),
                    str(PART_STATES[part.state]),
                    part.part.position,
                ]
            )
    return response


def _csv_safe(value: str) -> str:
    """Keep a spreadsheet from running a name as a formula (CSV injection): desk.spreadsheet.csv_safe."""
    return csv_safe(value)
