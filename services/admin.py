"""Admin for the service catalogue: what people can book, in English and Dutch, and its booking rules."""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from services import actions
from services.models import Service, ServiceOrder
from services.selectors import comes_before


class ServiceOrderFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        """A rule that would make a circle is refused here, with the form (the action refuses it too)."""
        super().clean()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE") or not form.cleaned_data.get("later"):
                continue
            order = form.instance
            order.earlier, order.later = self.instance, form.cleaned_data["later"]
            if order.later == order.earlier or comes_before(order.later, order.earlier, ignore=order.pk):
                form.add_error("later", actions.circle_message(order))


class ServiceOrderInline(admin.TabularInline):
    """The services this one comes before in a one-stop visit."""

    model = ServiceOrder
    formset = ServiceOrderFormSet
    fk_name = "earlier"
    extra = 0
    verbose_name = _("comes before, in a visit")
    verbose_name_plural = _("comes before, in a visit")


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = [
        "name_en",
        "code",
        "duration_minutes",
        "max_persons",
        "requires_municipality",
        "ind_product_key",
        "minimum_notice_minutes",
        "booking_horizon_days",
        "display_order",
        "is_active",
    ]
    list_display_links = ["name_en", "code"]
    list_filter = ["is_active", "requires_municipality", "ind_product_key"]
    search_fields = ["code", "name_en", "name_nl", "description_en", "description_nl"]
    ordering = ["display_order", "code"]
    inlines = [ServiceOrderInline]
    fieldsets = [
        (None, {"fields": ["code", "is_active", "display_order"]}),
        (_("English texts"), {"fields": ["name_en", "description_en", "what_to_bring_en"]}),
        (_("Dutch texts"), {"fields": ["name_nl", "description_nl", "what_to_bring_nl"]}),
        (
            _("Booking rules"),
            {
                "fields": [
                    "duration_minutes",
                    "max_persons",
                    "requires_municipality",
                    "minimum_notice_minutes",
                    "booking_horizon_days",
                    "ind_product_key",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Service | None = None) -> list[str]:
        # The code appears in links people already have; once a service exists it stays put.
        return ["code"] if obj is not None else []

    # Writes go through the catalogue's actions (DESIGN.md §3): cached free times are dropped on commit.
    def save_model(self, request: HttpRequest, obj: Service, form, change: bool) -> None:
        actions.save_service(service=obj)

    def delete_model(self, request: HttpRequest, obj: Service) -> None:
        actions.delete_service(service=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for service in queryset:
            actions.delete_service(service=service)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        """The visit-order rules through the catalogue's actions (a circle is refused there)."""
        for order in formset.save(commit=False):
            actions.save_service_order(order=order)
        for order in formset.deleted_objects:
            actions.delete_service_order(order=order)
