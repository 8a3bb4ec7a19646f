"""Admin page for a person's data request: find by e-mail address, download everything as JSON, or erase.

Linked from the appointments list ("Personal data request"). Looking and exporting need the right to
view appointments; erasing needs the right to change them. The e-mail address asked for is never
written to a log or the admin history. An admin limited to locations (bookings/scoping.py) finds, exports
and erases only the appointments at those locations.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings import actions
from bookings.privacy import appointments_for_email
from bookings.scoping import location_ids_for


class PersonalDataForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address the person booked with"), max_length=254)
    confirm = forms.BooleanField(
        label=_("I have checked that the request comes from this person, and the data may be erased."),
        required=False,
    )


def personal_data_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    can_erase = request.user.has_perm("bookings.change_appointment")
    form = PersonalDataForm(data=request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        action = request.POST.get("do", "find")
        now = timezone.now()
        if action == "export":
            # Recorded on each appointment exported: who downloaded it, and when (bookings.actions).
            data = actions.export_personal_data(
                email=email, now=now, actor=request.user, location_ids=location_ids_for(request.user)
            )
            response = HttpResponse(
                json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="personal-data-{now:%Y%m%d-%H%M%S}.json"'
            response["Cache-Control"] = "no-store"
            return response
        if action == "erase":
            if not can_erase:
                raise PermissionDenied
            if not form.cleaned_data["confirm"]:
                form.add_error("confirm", _("Tick the box to confirm the erasure."))
            else:
                erased = actions.erase_personal_data(
                    email=email, now=now, actor=request.user, location_ids=location_ids_for(request.user)
                )
                model_admin.message_user(
                    request,
                    ngettext(
                        "The personal data of %(count)d appointment has been erased.",
                        "The personal data of %(count)d appointments has been erased.",
                        erased,
                    )
                    % {"count": erased},
                    level=messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:bookings_appointment_changelist"))
        found = list(appointments_for_email(email, location_ids=location_ids_for(request.user)))
    return _render(model_admin, request, form=form, found=found, can_erase=can_erase)


def personal_data_from_selection(model_admin: admin.ModelAdmin, request: HttpRequest, queryset) -> HttpResponse | None:
    """The admin action: the request page for the e-mail address of the selected appointment(s), already
    looked up (the address goes in the form, never in a URL)."""
    emails = {email.strip().lower() for email in queryset.values_list("contact_email", flat=True) if email.strip()}
    if len(emails) != 1:
        model_admin.message_user(
            request,
            _("Select appointments of one e-mail address (appointments without an address have no personal data)."),
            level=messages.WARNING,
        )
        return None
    [email] = emails
    form = PersonalDataForm(initial={"email": email})
    found = list(appointments_for_email(email, location_ids=location_ids_for(request.user)))
    can_erase = request.user.has_perm("bookings.change_appointment")
    return _render(model_admin, request, form=form, found=found, can_erase=can_erase)


def _render(
    model_admin: admin.ModelAdmin, request: HttpRequest, *, form: PersonalDataForm, found: list | None, can_erase: bool
) -> HttpResponse:
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Personal data request"),
        "opts": opts,
        "form": form,
        "found": found,
        "can_erase": can_erase,
    }
    response = TemplateResponse(request, "admin/bookings/appointment/personal_data.html", context)
    response["Cache-Control"] = "no-store"
    return response
