"""Desk actions on one appointment, walk-ins and counter blocks. Thin: forms check shape, actions decide."""

from collections.abc import Callable
from datetime import date, datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from bookings import actions
from bookings.actions import BookingError, PersonName, visit_desk
from bookings.forms import parse_day
from bookings.models import Appointment, AppointmentStatus, Counter
from bookings.scoping import location_ids_for
from desk import clock, selectors
from desk.forms import BlockForm, CancelForm, MoveForm, ReferenceForm, WalkInForm
from desk.locations import desk_locations, require_known
from desk.permissions import desk_required
from desk.views.common import render_local
from services.models import Service


def _appointment_or_404(request: HttpRequest, reference: str) -> Appointment:
    """Only a booking at one of the person's locations: another location's answers as one that does not exist."""
    appointment = selectors.appointment_by_reference(reference=reference, location_ids=location_ids_for(request.user))
    if appointment is None:
        raise Http404(_("No booking with that reference."))
    return appointment


def _back(request: HttpRequest, appointment: Appointment) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("desk:appointment", args=[appointment.reference])


def _move_day(request: HttpRequest, appointment: Appointment) -> date:
    """The day the move form offers times on: `?move_day=`, else the booking's own day (never before today)."""
    tz = appointment.location.tz
    today = clock.now().astimezone(tz).date()
    picked = parse_day(request.GET.get("move_day") or request.POST.get("day"))
    day = picked or appointment.start.astimezone(tz).date()
    return max(day, today)


def _move_form(
    appointment: Appointment,
    choices: selectors.MoveChoices,
    *,
    counters: list[Counter] | None = None,
    data=None,
    exclude_counter_id: int | None = None,
    auto_id: str | None = None,
) -> MoveForm:
    if counters is None:
        counters = selectors.location_counters(location=appointment.location)
    return MoveForm(
        data,
        counters=[counter for counter in counters if counter.pk != exclude_counter_id],
        options=choices.options,
        counter_names=choices.counter_names,
        visit=choices.is_visit,
        initial={"day": choices.day},
        **({"auto_id": auto_id} if auto_id else {}),
    )


def _detail_context(request: HttpRequest, appointment: Appointment, **extra) -> dict:
    context = {
        "appointment": appointment,
        **selectors.appointment_detail(appointment=appointment),
        "cancel_form": CancelForm(),
        "now": clock.now(),
    }
    if appointment.status == AppointmentStatus.BOOKED:
        choices = selectors.move_choices(appointment=appointment, day=_move_day(request, appointment), now=clock.now())
        context["move_choices"] = choices
        context["move_form"] = _move_form(appointment, choices)
    context.update(extra)
    return context


# Refusals that are about the desk's state at that time (someone else has it), not about the input.
CONFLICTS = {BookingError.SLOT_TAKEN, actions.FULL, actions.COUNTER_BLOCKED, actions.COUNTER_TAKEN}


def _refused(request: HttpRequest, appointment: Appointment, error: BookingError, **extra) -> HttpResponse:
    """Show the appointment again with the reason its action was refused; nothing was changed."""
    appointment.refresh_from_db()
    context = _detail_context(request, appointment, error=error.message, **extra)
    return render_local(
        request,
        "desk/appointment.html",
        context,
        location=appointment.location,
        status=409 if error.code in CONFLICTS else 400,
    )


@require_http_methods(["GET"])
@desk_required
def appointment_detail(request: HttpRequest, reference: str) -> HttpResponse:
    appointment = _appointment_or_404(request, reference)
    return render_local(
        request, "desk/appointment.html", _detail_context(request, appointment), location=appointment.location
    )


def _simple_action(action: Callable[..., Appointment], done_message: str):
    @require_POST
    @desk_required
    def view(request: HttpRequest, reference: str) -> HttpResponse:
        appointment = _appointment_or_404(request, reference)
        try:
            action(appointment=appointment, now=clock.now(), actor=request.user)
        except BookingError as error:
            return _refused(request, appointment, error)
        messages.success(request, done_message % {"reference": appointment.reference})
        return redirect(_back(request, appointment))

    return view


def _checked_in_message(result: actions.CheckInResult) -> str:
    """ "AB-12-CD is checked in. Ticket B012." — with the lines of the apps above `bookings` (the queue's ticket)."""
    return " ".join([_("%(reference)s is checked in.") % {"reference": result.appointment.reference}, *result.notes])


@require_POST
@desk_required
def check_in_appointment(request: HttpRequest, reference: str) -> HttpResponse:
    appointment = _appointment_or_404(request, reference)
    try:
        result = actions.check_in(appointment=appointment, now=clock.now(), actor=request.user)
    except BookingError as error:
        return _refused(request, appointment, error)
    messages.success(request, _checked_in_message(result))
    return redirect(_back(request, appointment))


start_service = _simple_action(actions.start_service, gettext_lazy("%(reference)s: service started."))
finish_service = _simple_action(actions.finish_service, gettext_lazy("%(reference)s is done."))
mark_no_show = _simple_action(actions.mark_no_show, gettext_lazy("%(reference)s is marked as a no-show."))
undo_check_in = _simple_action(actions.undo_check_in, gettext_lazy("%(reference)s: the check-in is undone."))


def _part_action(action: Callable[..., Appointment], done_message: str):
    """A step on one part of a visit (bookings/actions/visit_desk.py)."""

    @require_POST
    @desk_required
    def view(request: HttpRequest, reference: str, position: int) -> HttpResponse:
        appointment = _appointment_or_404(request, reference)
        try:
            action(appointment=appointment, position=position, now=clock.now(), actor=request.user)
        except BookingError as error:
            if error.code == visit_desk.NO_SUCH_PART:
                raise Http404(error.message) from error
            return _refused(request, appointment, error)
        messages.success(request, done_message % {"reference": appointment.reference, "part": position})
        return redirect(_back(request, appointment))

    return view


start_part = _part_action(visit_desk.start_part, gettext_lazy("%(reference)s: part %(part)s started."))
finish_part = _part_action(visit_desk.finish_part, gettext_lazy("%(reference)s: part %(part)s is done."))
no_show_part = _part_action(
    visit_desk.no_show_part, gettext_lazy("%(reference)s: part %(part)s is marked as a no-show.")
)


@require_http_methods(["GET", "POST"])
@desk_required
def check_in_by_reference(request: HttpRequest) -> HttpResponse:
    """Check in by typing or scanning the reference."""
    form = ReferenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        appointment = selectors.appointment_by_reference(
            reference=form.cleaned_data["reference"], location_ids=location_ids_for(request.user)
        )
        if appointment is None:
            form.add_error("reference", _("No booking with that reference. Check the letters and digits."))
            return render(request, "desk/check_in.html", {"form": form}, status=404)
        try:
            result = actions.check_in(appointment=appointment, now=clock.now(), actor=request.user)
        except BookingError as error:
            return _refused(request, appointment, error)
        messages.success(request, _checked_in_message(result))
        return redirect(_back(request, appointment))
    return render(request, "desk/check_in.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
@desk_required
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    appointment = _appointment_or_404(request, reference)
    form = CancelForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, appointment, cancel_form=form)
        return render_local(request, "desk/appointment.html", context, location=appointment.location, status=400)
    try:
        actions.staff_cancel_appointment(
            appointment=appointment, reason=form.cleaned_data["reason"], now=clock.now(), actor=request.user
        )
    except BookingError as error:
        return _refused(request, appointment, error, cancel_form=form)
    messages.success(request, _("%(reference)s is cancelled.") % {"reference": appointment.reference})
    return redirect(_back(request, appointment))


@require_POST
@desk_required
def move(request: HttpRequest, reference: str) -> HttpResponse:
    appointment = _appointment_or_404(request, reference)
    if appointment.status != AppointmentStatus.BOOKED:
        return _refused(
            request,
            appointment,
            BookingError(BookingError.INVALID_STATUS, _("Only a booked appointment can be moved.")),
        )
    choices = selectors.move_choices(appointment=appointment, day=_move_day(request, appointment), now=clock.now())
    form = _move_form(appointment, choices, data=request.POST)
    if not form.is_valid():
        context = _detail_context(request, appointment, move_form=form, move_choices=choices)
        return render_local(request, "desk/appointment.html", context, location=appointment.location, status=400)
    new_start = datetime.combine(form.cleaned_data["day"], form.cleaned_data["time"], tzinfo=appointment.location.tz)
    try:
        actions.move_appointment(
            appointment=appointment,
            new_start=new_start,
            counter=form.cleaned_data.get("counter"),  # a visit's form has none
            now=clock.now(),
            actor=request.user,
        )
    except BookingError as error:
        return _refused(request, appointment, error, move_form=form, move_choices=choices)
    messages.success(request, _("%(reference)s is moved.") % {"reference": appointment.reference})
    return redirect(_back(request, appointment))


@require_http_methods(["GET", "POST"])
@desk_required
def walk_in(request: HttpRequest) -> HttpResponse:
    locations = desk_locations(user=request.user)
    require_known(request.POST.get("location"), locations)
    services = list(Service.objects.active())
    form = WalkInForm(request.POST or None, locations=locations, services=services)
    status = 200
    duplicates = []
    if request.method == "POST":
        status = 400
        if form.is_valid():
            now = clock.now()
            if not form.cleaned_data["confirm_duplicate"]:
                duplicates = selectors.recent_same_names(
                    location=form.cleaned_data["location"], names=form.names(), now=now
                )
            if duplicates:
                # "Already added?": the same form again, with the answer "no, this is another walk-in" ready.
                data = request.POST.copy()
                data["confirm_duplicate"] = "on"
                form = WalkInForm(data, locations=locations, services=services)
                status = 200
            else:
                try:
                    result = actions.walk_in(
                        location=form.cleaned_data["location"],
                        service=form.cleaned_data["service"],
                        names=[PersonName(first_name=f, last_name=last) for f, last in form.names()],
                        contact_email=form.cleaned_data["contact_email"],
                        municipality=form.cleaned_data["municipality"],
                        now=now,
                        actor=request.user,
                    )
                except BookingError as error:
                    form.add_error(None, error.message)
                else:
                    appointment = result.appointment
                    booked = _("Walk-in %(reference)s booked at %(time)s and checked in.") % {
                        "reference": appointment.reference,
                        "time": appointment.start.astimezone(appointment.location.tz).strftime("%H:%M"),
                    }
                    messages.success(request, " ".join([booked, *result.notes]))  # with the queue's ticket
                    return redirect("desk:appointment", reference=appointment.reference)
    context = {"form": form, "duplicates": duplicates}
    return render(request, "desk/walk_in.html", context, status=status)


@require_http_methods(["GET", "POST"])
@desk_required
def block_counter(request: HttpRequest) -> HttpResponse:
    counters = selectors.desk_counters(locations=desk_locations(user=request.user))
    require_known(request.POST.get("counter"), counters)
    form = BlockForm(request.POST or None, counters=counters)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            counter = form.cleaned_data["counter"]
            tz = counter.location.tz
            start = datetime.combine(form.cleaned_data["day"], form.cleaned_data["start_time"], tzinfo=tz)
            end_day = form.cleaned_data["end_day"] or form.cleaned_data["day"]
            end = datetime.combine(end_day, form.cleaned_data["end_time"], tzinfo=tz)
            try:
                block = actions.block_counter(
                    counter=counter,
                    start=start,
                    end=end,
                    reason=form.cleaned_data["reason"],
                    now=clock.now(),
                    actor=request.user,
                )
            except BookingError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("%(counter)s is blocked.") % {"counter": counter.name})
                return redirect("desk:block", block_id=block.pk)
    return render(request, "desk/block_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@desk_required
def block_detail(request: HttpRequest, block_id: int) -> HttpResponse:
    """A block and the appointments it affects, each with a move and a cancel form."""
    block = selectors.counter_block(block_id=block_id, location_ids=location_ids_for(request.user))
    if block is None:
        raise Http404(_("That block no longer exists."))
    if request.method == "POST":
        actions.end_counter_block(block=block, now=clock.now(), actor=request.user)
        messages.success(request, _("%(counter)s is back in service.") % {"counter": block.counter.name})
        return redirect("desk:agenda")
    affected = selectors.affected_by_block(block=block)
    location = block.counter.location
    now = clock.now()
    counters = selectors.location_counters(location=location)
    items = []
    by_day: dict[date, list] = {}
    today = now.astimezone(location.tz).date()
    for row in affected:
        by_day.setdefault(max(row.appointment.start.astimezone(location.tz).date(), today), []).append(row)
    for day, rows in by_day.items():
        booked = [row.appointment for row in rows if row.appointment.status == AppointmentStatus.BOOKED]
        choices = selectors.move_choices_for_many(appointments=booked, day=day, now=now)
        for row in rows:
            a = row.appointment
            item = {"row": row}
            if a.pk in choices:
                item["choices"] = choices[a.pk]
                # The blocked counter is not offered; "any free counter" never chooses it either.
                item["move_form"] = _move_form(
                    a,
                    choices[a.pk],
                    counters=counters,
                    exclude_counter_id=block.counter_id,
                    auto_id=f"move-{a.pk}-%s",
                )
            items.append(item)
    items.sort(key=lambda item: item["row"].appointment.start)
    context = {
        "counter_block": block,
        "affected": items,
        "this_url": request.get_full_path(),
    }
    return render_local(request, "desk/block_detail.html", context, location=location)
