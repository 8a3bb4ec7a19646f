from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "desk"
    verbose_name = _("Desk")

    def ready(self) -> None:
        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in

        from bookings.scoping import register_location_scope
        from desk.admin_site import TwoFactorAdminSite
        from desk.locations import assigned_location_ids
        from desk.middleware import record_sign_in

        # Staff see the locations they are assigned to (bookings/scoping.py, desk/models.py).
        register_location_scope(assigned_location_ids)

        # The idle timeout counts from the sign-in (desk/middleware.py).
        user_logged_in.connect(record_sign_in, dispatch_uid="desk.record_sign_in")

        # The admin asks for the same second factor as the desk, and signs in through the desk's login.
        admin.site.__class__ = TwoFactorAdminSite
