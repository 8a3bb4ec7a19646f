from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitlistConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "waitlist"
    verbose_name = _("Waitlist")

    def ready(self) -> None:
        # Counter time freed by a change in `bookings` reaches the waitlist through the hook registry
        # (bookings/hooks.py), inside the change's transaction; the beat scan is the safety net.
        from bookings import hooks
        from waitlist import actions

        hooks.on_capacity_freed(actions.offer_freed_capacity)
        hooks.on_personal_data_erased(actions.erase_entries_of)
