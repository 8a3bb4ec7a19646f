"""For admins: free and booked capacity for the next six weeks, and the effect of a closure before it is saved."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings import actions
from bookings.actions import BookingError
from bookings.models import Location, OpeningHours, Weekday
from desk import clock, selectors
from desk.forms import ClosureForm, OpeningHoursChangeForm
from desk.locations import desk_locations, require_known
from desk.permissions import admin_required
from desk.views.common import render_local


@require_http_methods(["GET", "POST"])
@admin_required
def capacity(request: HttpRequest) -> HttpResponse:
    locations = desk_locations(user=request.user)
    if not locations:
        return render(request, "desk/capacity.html", {"form": None, "preview": None})
    data = (request.POST if request.method == "POST" else request.GET).copy()
    require_known(data.get("location"), locations)
    data.setdefault("location", str(locations[0].pk))
    form = ClosureForm(data, locations=locations)
    if not form.is_valid():
        return render(request, "desk/capacity.html", {"form": form, "preview": None}, status=400)
    location = form.cleaned_data["location"]
    closure = form.closure()
    now = clock.now()
    error = None
    if request.method == "POST":
        if closure is None:
            error = _("Pick the first closed day.")
        else:
            try:
                actions.add_closure(
                    location=location,
                    start_date=closure[0],
                    end_date=closure[1],
                    reason=form.cleaned_data["reason"],
                    now=now,
                    actor=request.user,
                )
            except BookingError as refused:
                error = refused.message
            else:
                messages.success(request, _("The closure is saved."))
                return redirect(reverse("desk:capacity") + f"?location={location.pk}")
    preview = selectors.capacity_preview(location=location, now=now, closure=closure)
    context = {"form": form, "preview": preview, "closure": closure, "error": error}
    return render_local(request, "desk/capacity.html", context, location=location, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
@admin_required
def opening_hours(request: HttpRequest) -> HttpResponse:
    """Preview new opening intervals for a weekday (six weeks before and after, and the appointments they
    would leave outside opening hours); save them through actions.change_opening_hours."""
    locations = desk_locations(user=request.user)
    if not locations:
        return render(request, "desk/capacity_hours.html", {"form": None, "preview": None})
    data = (request.POST if request.method == "POST" else request.GET).copy()
    require_known(data.get("location"), locations)
    data.setdefault("location", str(locations[0].pk))
    proposing = "weekday" in data
    form = OpeningHoursChangeForm(data if proposing else None, locations=locations)
    now = clock.now()
    if not proposing:
        if request.method == "POST":
            return render(request, "desk/capacity_hours.html", {"form": form, "preview": None}, status=400)
        location = next((loc for loc in locations if str(loc.pk) == data["location"]), None)
        if location is None:
            form = OpeningHoursChangeForm(data, locations=locations)  # bound, to show the field's error
            return render(request, "desk/capacity_hours.html", {"form": form, "preview": None}, status=400)
        form = OpeningHoursChangeForm(locations=locations, initial={"location": location})
        preview = selectors.capacity_preview(location=location, now=now)
        context = {"form": form, "preview": preview, "change": None, "current": _current_hours(location)}
        return render_local(request, "desk/capacity_hours.html", context, location=location)
    if not form.is_valid():
        return render(request, "desk/capacity_hours.html", {"form": form, "preview": None}, status=400)
    location = form.cleaned_data["location"]
    change = form.change()
    error = None
    if request.method == "POST":
        try:
            actions.change_opening_hours(location=location, change=change, now=now, actor=request.user)
        except BookingError as refused:
            error = refused.message
        else:
            messages.success(request, _("The new opening hours are saved."))
            return redirect(reverse("desk:capacity_hours") + f"?location={location.pk}")
    preview = selectors.capacity_preview(location=location, now=now, hours_change=change)
    context = {
        "form": form,
        "preview": preview,
        "change": change,
        "weekday_label": Weekday(change.weekday).label,
        "error": error,
        "current": _current_hours(location),
    }
    return render_local(request, "desk/capacity_hours.html", context, location=location, status=400 if error else 200)


def _current_hours(location: Location) -> list[OpeningHours]:
    return selectors.opening_hours_of(location=location)
