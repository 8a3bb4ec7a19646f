from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "desk"
    verbose_name = _("Desk")

    def ready(self) -> None:
        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in

        from desk.admin_site import TwoFactorAdminSite
        from desk.middleware import record_sign_in

        # The idle timeout counts from the sign-in (desk/middleware.py).
        user_logged_in.connect(record_sign_in, dispatch_uid="desk.record_sign_in")

        # The admin asks for the same second factor as the desk, and signs in through the desk's login.
        admin.site.__class__ = TwoFactorAdminSite
