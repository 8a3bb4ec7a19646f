"""Admin for the desk's configuration: locations with their counters, opening hours and closures.

Every save and delete goes through bookings.actions.configuration (see through_actions.py): under the
location's exclusive lock, refused while it would strand live appointments (the refusal lists them), and
recorded in the configuration history shown on the location's page.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings import actions
from bookings.actions import ClosureSpec, CounterSpec, HoursRow, OfferSpec
from bookings.actions.configuration import LOCATION_FIELDS
from bookings.admin.scoped import LocationScoped, is_unrestricted, related_only
from bookings.admin.through_actions import SavedThroughActions
from bookings.models import Closure, ConfigurationEvent, Counter, Location, LocationService, OpeningHours
from bookings.scoping import limit_to_locations

# ---- forms: plain-language errors instead of "constraint … is violated" ----------------------


class OpeningHoursForm(forms.ModelForm):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "start_time", "end_time", "valid_from", "valid_until"]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and start >= end:
            self.add_error("end_time", _("The closing time must be after the opening time."))
        valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
        if valid_from and valid_until and valid_from > valid_until:
            self.add_error("valid_until", _("The last valid day cannot be before the first."))
        return data


class ClosureForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["location", "start_date", "end_date", "reason"]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and start > end:
            self.add_error("end_date", _("The last closed day cannot be before the first."))
        return data


class LabelledInlineFormSet(forms.BaseInlineFormSet):
    """A tabular inline whose fields each carry an accessible name: the column heading alone is not a label
    (axe-core: "Form elements must have labels"), so every field says what it is and which row it is in."""

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        for name, field in form.fields.items():
            if field.widget.is_hidden:
                continue
            label = _("Delete") if name == "DELETE" else field.label
            if index is None:
                name_ = _("%(field)s, new row") % {"field": label}
            else:
                name_ = _("%(field)s, row %(row)d") % {"field": label, "row": index + 1}
            field.widget.attrs["aria-label"] = name_
            # A related-object select is wrapped (its add/change links): the select itself needs the name.
            inner = getattr(field.widget, "widget", None)
            if inner is not None:
                inner.attrs["aria-label"] = name_


# ---- what a page's forms hold, as the actions take it ---------------------------------------


def _kept_forms(formset) -> list:
    return [form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]


def _counter_specs(formset) -> list[CounterSpec]:
    specs = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or (form.instance.pk is None and not form.has_changed()):
            continue
        specs.append(
            CounterSpec(
                pk=form.instance.pk,
                name=data.get("name", form.instance.name),
                service_ids=frozenset(service.pk for service in data.get("services", [])),
                is_active=data.get("is_active", False),
                delete=bool(data.get("DELETE")),
            )
        )
    return specs


def _hours_rows(formset) -> list[HoursRow] | None:
    if not formset.has_changed():
        return None
    return [
        HoursRow(
            weekday=form.cleaned_data["weekday"],
            start_time=form.cleaned_data["start_time"],
            end_time=form.cleaned_data["end_time"],
            valid_from=form.cleaned_data.get("valid_from"),
            valid_until=form.cleaned_data.get("valid_until"),
        )
        for form in _kept_forms(formset)
    ]


def _offer_specs(formset) -> list[OfferSpec] | None:
    """The complete set of the services offered, when the inline changed (None: unchanged)."""
    if not formset.has_changed():
        return None
    return [
        OfferSpec(
            service_id=form.cleaned_data["service"].pk,
            minimum_notice_minutes=form.cleaned_data.get("minimum_notice_minutes"),
            booking_horizon_days=form.cleaned_data.get("booking_horizon_days"),
        )
        for form in _kept_forms(formset)
        if form.cleaned_data.get("service")
    ]


def _closure_specs(formset) -> list[ClosureSpec]:
    specs = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or not (form.has_changed() or data.get("DELETE")):
            continue
        if form.instance.pk is None and data.get("DELETE"):
            continue
        specs.append(
            ClosureSpec(
                pk=form.instance.pk,
                start_date=data.get("start_date", form.instance.start_date),
                end_date=data.get("end_date", form.instance.end_date),
                reason=data.get("reason", form.instance.reason),
                delete=bool(data.get("DELETE")),
            )
        )
    return specs


# ---- locations -------------------------------------------------------------------------------


class CounterInline(LocationScoped, admin.TabularInline):
    model = Counter
    formset = LabelledInlineFormSet
    fields = ["name", "services", "is_active"]
    extra = 0
    show_change_link = True

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "services":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class LocationServiceInline(LocationScoped, admin.TabularInline):
    model = LocationService
    formset = LabelledInlineFormSet
    fields = ["service", "minimum_notice_minutes", "booking_horizon_days"]
    extra = 0
    verbose_name = _("service offered here")
    verbose_name_plural = _("services offered here (empty notice or horizon: the service's own)")


class OpeningHoursInline(LocationScoped, admin.TabularInline):
    model = OpeningHours
    formset = LabelledInlineFormSet
    form = OpeningHoursForm
    extra = 0


class LocationClosureInline(LocationScoped, admin.TabularInline):
    model = Closure
    formset = LabelledInlineFormSet
    form = ClosureForm
    fields = ["start_date", "end_date", "reason"]
    extra = 0
    verbose_name = _("closure of this location")
    verbose_name_plural = _("closures of this location (closures of every location are under Closures)")


@admin.register(Location)
class LocationAdmin(LocationScoped, SavedThroughActions):
    list_display = ["name", "slug", "short_code", "city", "grid_minutes", "active_counters", "is_active"]
    list_filter = ["is_active", "city"]
    search_fields = ["name", "slug", "short_code", "street", "city"]
    # Explicit: the counted annotation groups the rows, and a grouped query drops Meta.ordering (the admin's
    # location search for a form's field would come unordered).
    ordering = ["name", "pk"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["name", "public_name", "slug", "short_code", "is_active"]}),
        (_("Address"), {"fields": ["street", "postcode", "city", "time_zone"]}),
        (_("Visitors"), {"fields": ["directions_en", "directions_nl", "arrive_early_minutes", "max_wait_minutes"]}),
        (_("Contact"), {"fields": ["contact_email", "contact_phone"]}),
        (_("Booking"), {"fields": ["grid_minutes", "ind_desk_key", "municipalities"]}),
    ]
    inlines = [LocationServiceInline, CounterInline, OpeningHoursInline, LocationClosureInline]
    location_path = "pk"
    # The latest configuration changes shown under the inlines (templates/admin/bookings/location/change_form.html).
    HISTORY_SHOWN = 20

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        history = (
            list(
                limit_to_locations(
                    ConfigurationEvent.objects.filter(location_id=object_id), request.user
                ).select_related("actor")[: self.HISTORY_SHOWN + 1]
            )
            if str(object_id).isdigit()
            else []
        )
        extra_context = {
            **(extra_context or {}),
            "configuration_history": history[: self.HISTORY_SHOWN],
            "configuration_history_more": len(history) > self.HISTORY_SHOWN,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Location]:
        return (
            super()
            .get_queryset(request)
            .annotate(_active_counters=Count("counters", filter=Q(counters__is_active=True), distinct=True))
        )

    def get_actions(self, request: HttpRequest) -> dict:
        actions_ = super().get_actions(request)
        actions_.pop("delete_selected", None)  # one at a time, so that a refusal is shown
        return actions_

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An admin limited to locations would not be assigned to a new one: only a superuser adds locations.
        return super().has_add_permission(request) and is_unrestricted(request)

    @admin.display(description=_("active counters"), ordering="_active_counters")
    def active_counters(self, obj: Location) -> int:
        return obj._active_counters

    def save_through_action(self, request: HttpRequest, obj: Location, form, formsets, change: bool) -> Location:
        by_model = {formset.model: formset for formset in formsets}
        names = [name for name in form.fields if name in LOCATION_FIELDS]
        return actions.configure_location(
            location=obj if change else None,
            fields={
                name: form.cleaned_data[name] for name in (form.changed_data if change else names) if name in names
            },
            counters=_counter_specs(by_model[Counter]) if Counter in by_model else (),
            opening_hours=_hours_rows(by_model[OpeningHours]) if OpeningHours in by_model else None,
            closures=_closure_specs(by_model[Closure]) if Closure in by_model else (),
            offers=_offer_specs(by_model[LocationService]) if LocationService in by_model else None,
            now=timezone.now(),
            actor=request.user,
        )

    def delete_through_action(self, request: HttpRequest, obj: Location) -> None:
        actions.delete_location(location=obj, now=timezone.now(), actor=request.user)


@admin.register(Counter)
class CounterAdmin(LocationScoped, SavedThroughActions):
    list_display = ["name", "location", "service_list", "is_active"]
    list_filter = [related_only("location"), "is_active", "services"]
    search_fields = ["name", "location__name"]
    filter_horizontal = ["services"]
    list_select_related = ["location"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Counter]:
        return super().get_queryset(request).prefetch_related("services")

    def get_readonly_fields(self, request: HttpRequest, obj: Counter | None = None) -> list[str]:
        return ["location"] if obj is not None else []  # a counter does not move to another location

    def get_actions(self, request: HttpRequest) -> dict:
        actions_ = super().get_actions(request)
        actions_.pop("delete_selected", None)
        return actions_

    @admin.display(description=_("services"))
    def service_list(self, obj: Counter) -> str:
        return ", ".join(service.name for service in obj.services.all())

    def save_through_action(self, request: HttpRequest, obj: Counter, form, formsets, change: bool) -> Counter:
        data = form.cleaned_data
        spec = CounterSpec(
            pk=obj.pk if change else None,
            name=data["name"],
            service_ids=frozenset(service.pk for service in data.get("services", [])),
            is_active=data.get("is_active", False),
        )
        location = obj.location if change else data["location"]
        actions.configure_location(
            location=location, fields={}, counters=[spec], now=timezone.now(), actor=request.user
        )
        return Counter.objects.get(location=location, name=spec.name)

    def delete_through_action(self, request: HttpRequest, obj: Counter) -> None:
        spec = CounterSpec(pk=obj.pk, name=obj.name, service_ids=frozenset(), delete=True)
        actions.configure_location(
            location=obj.location, fields={}, counters=[spec], now=timezone.now(), actor=request.user
        )


@admin.register(Closure)
class ClosureAdmin(LocationScoped, SavedThroughActions):
    form = ClosureForm
    list_display = ["start_date", "end_date", "where", "reason"]
    list_filter = [related_only("location")]
    # A closure of every location is shown to an admin limited to locations, read-only.
    include_every_location = True
    search_fields = ["reason"]
    date_hierarchy = "start_date"
    list_select_related = ["location"]

    def get_readonly_fields(self, request: HttpRequest, obj: Closure | None = None) -> list[str]:
        return ["location"] if obj is not None else []

    @admin.display(description=_("location"), ordering="location__name")
    def where(self, obj: Closure) -> str:
        return obj.location.name if obj.location else _("All locations")

    def save_through_action(self, request: HttpRequest, obj: Closure, form, formsets, change: bool) -> Closure:
        data = form.cleaned_data
        spec = ClosureSpec(
            pk=obj.pk if change else None,
            start_date=data["start_date"],
            end_date=data["end_date"],
            reason=data["reason"],
        )
        location = obj.location if change else data.get("location")
        saved = actions.save_closure(location=location, spec=spec, now=timezone.now(), actor=request.user)
        assert saved is not None
        return saved

    def delete_through_action(self, request: HttpRequest, obj: Closure) -> None:
        spec = ClosureSpec(pk=obj.pk, start_date=obj.start_date, end_date=obj.end_date, reason=obj.reason, delete=True)
        actions.save_closure(location=obj.location, spec=spec, now=timezone.now(), actor=request.user)


@admin.register(ConfigurationEvent)
class ConfigurationEventAdmin(LocationScoped, admin.ModelAdmin):
    """Who changed which location's configuration, and when: read-only."""

    list_display = ["at", "location", "kind", "actor", "detail"]
    list_filter = ["kind", related_only("location")]
    search_fields = ["detail", "location__name"]
    date_hierarchy = "at"
    list_select_related = ["location", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ConfigurationEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ConfigurationEvent | None = None) -> bool:
        return False
