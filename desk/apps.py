from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "desk"
    verbose_name = _("Desk")

    def ready(self) -> None:
        from django.contrib import admin

        from desk.admin_site import TwoFactorAdminSite

        # The admin asks for the same second factor as the desk, and signs in through the desk's login.
        admin.site.__class__ = TwoFactorAdminSite
