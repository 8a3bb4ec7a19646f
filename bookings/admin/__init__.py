"""The Django admin of the bookings app: configuration (locations.py) and appointments (appointments.py).

Every save and delete goes through bookings/actions/ (through_actions.py explains how).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from bookings.admin import appointments, locations  # noqa: F401  (registers the model admins)
from bookings.admin.scoped import NationalData
from services.admin import ServiceAdmin, ServiceOrderInline
from services.models import Service


class CatalogueOrderInline(NationalData, ServiceOrderInline):
    pass


# The service catalogue is the whole installation's: an admin limited to locations reads it (services' own
# admin knows nothing of locations, the app being below bookings: DESIGN.md §3).
admin.site.unregister(Service)


@admin.register(Service)
class CatalogueAdmin(NationalData, ServiceAdmin):
    inlines = [CatalogueOrderInline]


admin.site.site_header = _("ExpatDesk administration")
admin.site.site_title = _("ExpatDesk admin")
admin.site.index_title = _("Desk configuration and appointments")
