"""For admins: free and booked capacity for the next six weeks, and the effect of a closure before it is saved."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings import actions
from bookings.actions import BookingError
from desk import clock, selectors
from desk.forms import ClosureForm
from desk.permissions import admin_required
from desk.views.common import render_local


@require_http_methods(["GET", "POST"])
@admin_required
def capacity(request: HttpRequest) -> HttpResponse:
    locations = selectors.desk_locations()
    if not locations:
        return render(request, "desk/capacity.html", {"form": None, "preview": None})
    data = (request.POST if request.method == "POST" else request.GET).copy()
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
