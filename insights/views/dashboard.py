"""The KPI dashboard at /desk/insights/ and its CSV downloads: thin, the figures come from insights.kpis."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from desk import clock
from desk.locations import desk_locations
from desk.spreadsheet import csv_response
from desk.views.common import render_local
from insights import kpis, tables
from insights.forms import DashboardForm
from insights.permissions import insights_required
from insights.selectors import services_offered_at
from services.models import Service


def _load(request: HttpRequest) -> tuple[dict, int]:
    now = clock.now()
    locations = desk_locations(user=request.user)  # a desk lead or admin sees their own locations only
    services = list(Service.objects.filter(is_active=True).order_by("display_order", "pk"))
    if not locations:
        return {"form": None, "dashboard": None}, 200
    data = request.GET.copy()
    data.setdefault("location", str(locations[0].pk))
    data.setdefault("period", "month")
    today = now.astimezone(locations[0].tz).date()
    form = DashboardForm(data, locations=locations, services=services, today=today)
    if not form.is_valid():
        return {"form": form, "dashboard": None}, 400
    location = form.cleaned_data["location"]
    dashboard = kpis.load_dashboard(
        location=location,
        service=form.cleaned_data["service"],
        period=form.cleaned_data["period_obj"],
        services=services_offered_at(location=location),
        now=now,
    )
    query = {"location": location.pk, "period": form.cleaned_data["period"]}
    if form.cleaned_data["service"] is not None:
        query["service"] = form.cleaned_data["service"].pk
    period = dashboard.period
    if period.kind == "custom":
        query.update(start=period.first.isoformat(), end=period.last.isoformat())
    else:
        query["day"] = period.first.isoformat()
    return {"form": form, "dashboard": dashboard, "query": urlencode(query)}, 200


@require_GET
@insights_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context, status = _load(request)
    found = context["dashboard"]
    if found is not None:
        all_tables = tables.dashboard_tables(found)
        context["tables"] = [table for table in all_tables if table.key != "waitlist"]
        context["waitlist"] = next((table for table in all_tables if table.key == "waitlist"), None)
    return render_local(
        request, "insights/dashboard.html", context, location=found.location if found else None, status=status
    )


@require_GET
@insights_required
def dashboard_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in tables.TABLE_KEYS:
        raise Http404
    context, status = _load(request)
    found = context["dashboard"]
    if found is None:
        form = context["form"]
        message = " ".join(str(e) for errors in form.errors.values() for e in errors) if form else ""
        return HttpResponse(
            message or "-", status=status if status >= 400 else 404, content_type="text/plain; charset=utf-8"
        )
    chosen = next((item for item in tables.dashboard_tables(found) if item.key == table), None)
    if chosen is None:
        raise Http404
    period = found.period
    filename = f"insights-{found.location.short_code}-{table}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return csv_response(filename=filename, header=chosen.header, rows=chosen.rows)
