"""Admin pages whose saves and deletes go through bookings' actions (DESIGN.md §3), the Django admin included.

Django's admin wraps a change form's POST in one `transaction.atomic` and saves with `obj.save()`. Here the
page's POST runs outside any transaction, `save_model` saves nothing, and `save_related` hands the whole
page (the object and its inlines) to one action, which is the transaction (durable, under the location's
lock). When the action refuses (a BookingError: say a closure on a day with bookings, or a race that the
form's own checks could not see), the page is shown again with everything typed and the action's message
at the top: nothing is saved and nothing typed is lost.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from bookings.actions import BookingError

_REFUSAL = "_expatdesk_action_refusal"


class Refused(Exception):
    """Raised out of save_related/save_model so that changeform_view shows the page again."""

    def __init__(self, error: BookingError) -> None:
        super().__init__(error.message)
        self.error = error


class _ShowsRefusal(forms.ModelForm):
    refusal = ""

    def clean(self) -> dict:
        data = super().clean()
        raise forms.ValidationError(self.refusal)
        return data  # pragma: no cover


class SavedThroughActions(admin.ModelAdmin):
    """Subclasses implement `save_through_action(request, obj, form, formsets, change)` (returning the saved
    object) and `delete_through_action(request, obj)`; both raise BookingError to refuse."""

    def save_through_action(self, request: HttpRequest, obj: Model, form, formsets, change: bool) -> Model:
        raise NotImplementedError

    def delete_through_action(self, request: HttpRequest, obj: Model) -> None:
        raise NotImplementedError

    # ---- saving ----

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None) -> HttpResponse:
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except Refused as refused:
            setattr(request, _REFUSAL, str(refused.error.message))
            return self._changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, _REFUSAL, "")
        if refusal:
            return type(form.__name__, (_ShowsRefusal, form), {"refusal": refusal})
        return form

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        """Nothing yet: save_related saves the object and its inlines in one action."""

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        """Nothing: the inlines were saved with the object by save_related."""

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        try:
            saved = self.save_through_action(request, form.instance, form, formsets, change)
        except BookingError as error:
            raise Refused(error) from error
        # The admin's log entry and redirect need the saved object's key.
        form.instance.pk = saved.pk
        form.instance._state.adding = False
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    # ---- deleting ----

    def delete_view(self, request: HttpRequest, object_id, extra_context=None) -> HttpResponse:
        try:
            return self._delete_view(request, object_id, extra_context)
        except Refused as refused:
            self.message_user(request, refused.error.message, level=messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id]))

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        try:
            self.delete_through_action(request, obj)
        except BookingError as error:
            raise Refused(error) from error

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            try:
                self.delete_through_action(request, obj)
            except BookingError as error:
                self.message_user(request, f"{obj}: {error.message}", level=messages.ERROR)
