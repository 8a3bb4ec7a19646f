"""The counter page of the desk: Call next, and recall, skip, transfer, put back, done. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from bookings.actions import BookingError
from bookings.models import Counter
from bookings.scoping import limit_to_locations
from desk import clock
from desk import selectors as desk_selectors
from desk.locations import desk_locations
from desk.permissions import desk_required
from desk.views.common import render_local
from queueing import actions
from queueing.forms import TransferForm
from queueing.models import Ticket
from queueing.selectors import called_at_counter, queue_for_counter

STEPS = {"recall", "skip", "transfer", "requeue", "done", "call", "next-part"}


def _counter_or_404(request: HttpRequest, counter_id: int) -> Counter:
    """A counter in use at one of the person's locations; another location's is a 404, as a missing one."""
    counters = limit_to_locations(Counter.objects.select_related("location"), request.user)
    counter = counters.filter(pk=counter_id, is_active=True).first()
    if counter is None:
        raise Http404(_("No counter in use with that number."))
    return counter


def _others(counter: Counter) -> list[Counter]:
    return [c for c in desk_selectors.location_counters(location=counter.location) if c.pk != counter.pk]


@never_cache
@require_GET
@desk_required
def counters(request: HttpRequest) -> HttpResponse:
    locations = desk_locations(user=request.user)
    rows = [(location, desk_selectors.location_counters(location=location)) for location in locations]
    return render_local(request, "queueing/counters.html", {"rows": rows}, location=None)


def _page(request: HttpRequest, counter: Counter, *, status: int = 200, error: str = "", form=None) -> HttpResponse:
    day = clock.now().astimezone(counter.location.tz).date()
    context = {
        "counter": counter,
        "called": called_at_counter(counter=counter, day=day),
        "queue": list(queue_for_counter(counter=counter, day=day).select_related("service", "appointment")[:50]),
        "transfer_form": form or TransferForm(counters=_others(counter)),
        "error": error,
    }
    return render_local(request, "queueing/counter.html", context, location=counter.location, status=status)


@never_cache
@require_GET
@desk_required
def counter_page(request: HttpRequest, counter_id: int) -> HttpResponse:
    return _page(request, _counter_or_404(request, counter_id))


@require_POST
@desk_required
def call_next(request: HttpRequest, counter_id: int) -> HttpResponse:
    counter = _counter_or_404(request, counter_id)
    try:
        ticket = actions.call_next(counter=counter, now=clock.now(), actor=request.user)
    except BookingError as error:
        return _page(request, counter, status=409, error=error.message)
    if ticket is None:
        messages.info(request, _("Nobody is waiting for this counter."))
    else:
        messages.success(
            request, _("%(ticket)s is called to %(counter)s.") % {"ticket": ticket.code, "counter": counter.name}
        )
    return redirect("queueing:counter", counter_id=counter.pk)


@require_POST
@desk_required
def ticket_step(request: HttpRequest, counter_id: int, ticket_id: int, step: str) -> HttpResponse:
    counter = _counter_or_404(request, counter_id)
    if step not in STEPS:
        raise Http404(_("Unknown step."))
    ticket = get_object_or_404(Ticket, pk=ticket_id, location_id=counter.location_id)
    now, actor = clock.now(), request.user
    try:
        if step == "transfer":
            form = TransferForm(request.POST, counters=_others(counter))
            if not form.is_valid():
                return _page(request, counter, status=400, form=form, error=_("Please choose a counter."))
            done = actions.transfer(
                ticket=ticket, counter=counter, to_counter=form.cleaned_data["to_counter"], now=now, actor=actor
            )
        else:
            action = {
                "recall": actions.recall,
                "skip": actions.skip,
                "requeue": actions.requeue,
                "done": actions.finish,
                "call": actions.call_again_from_queue,
                "next-part": actions.next_part,
            }[step]
            done = action(ticket=ticket, counter=counter, now=now, actor=actor)
    except BookingError as error:
        return _page(request, counter, status=409, error=error.message)
    texts = {
        "recall": _("%(ticket)s is called again."),
        "skip": _("%(ticket)s is skipped."),
        "requeue": _("%(ticket)s is back in the queue."),
        "done": _("%(ticket)s is done."),
        "call": _("%(ticket)s is called."),
        "transfer": _("%(ticket)s is sent to another counter."),
        "next-part": _("%(ticket)s waits for the next part of the visit."),
    }
    text = texts[step]
    if step == "skip" and done.status == "no_show":
        text = _("%(ticket)s did not come: marked as a no-show.")
    messages.success(request, text % {"ticket": done.code})
    return redirect("queueing:counter", counter_id=counter.pk)
