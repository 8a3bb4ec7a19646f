from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "queueing"
    verbose_name = _("Queue")

    def ready(self) -> None:
        # Every check-in in `bookings` (desk, kiosk, walk-in) reaches the queue through the hook registry
        # (bookings/hooks.py), inside the check-in's transaction: the ticket is issued with it.
        from bookings import hooks
        from queueing import actions

        hooks.on_checked_in(actions.ticket_on_check_in)
