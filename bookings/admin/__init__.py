"""The Django admin of the bookings app: configuration (locations.py) and appointments (appointments.py).

Every save and delete goes through bookings/actions/ (through_actions.py explains how).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from bookings.admin import appointments, locations  # noqa: F401  (registers the model admins)

admin.site.site_header = _("ExpatDesk administration")
admin.site.site_title = _("ExpatDesk admin")
admin.site.index_title = _("Desk configuration and appointments")
