from django.urls import path

from desk.views import agenda, appointments, auth, capacity
from expatdesk.ratelimits import rate_limited

app_name = "desk"

urlpatterns = [
    path("", agenda.agenda, name="agenda"),
    path("day/", agenda.agenda_fragment, name="agenda_fragment"),
    path("print/", agenda.agenda_print, name="agenda_print"),
    path("export.csv", agenda.agenda_csv, name="agenda_csv"),
    path("capacity/", capacity.capacity, name="capacity"),
    path("capacity/hours/", capacity.opening_hours, name="capacity_hours"),
    path("check-in/", appointments.check_in_by_reference, name="check_in"),
    path("walk-in/", appointments.walk_in, name="walk_in"),
    path("block/", appointments.block_counter, name="block_counter"),
    path("block/<int:block_id>/", appointments.block_detail, name="block"),
    path("appointment/<str:reference>/", appointments.appointment_detail, name="appointment"),
    path("appointment/<str:reference>/check-in/", appointments.check_in_appointment, name="appointment_check_in"),
    path("appointment/<str:reference>/start/", appointments.start_service, name="appointment_start"),
    path("appointment/<str:reference>/finish/", appointments.finish_service, name="appointment_finish"),
    path("appointment/<str:reference>/no-show/", appointments.mark_no_show, name="appointment_no_show"),
    path(
        "appointment/<str:reference>/undo-check-in/",
        appointments.undo_check_in,
        name="appointment_undo_check_in",
    ),
    # One part of a visit of several parts (its position, from 1).
    path(
        "appointment/<str:reference>/part/<int:position>/start/",
        appointments.start_part,
        name="appointment_part_start",
    ),
    path(
        "appointment/<str:reference>/part/<int:position>/finish/",
        appointments.finish_part,
        name="appointment_part_finish",
    ),
    path(
        "appointment/<str:reference>/part/<int:position>/no-show/",
        appointments.no_show_part,
        name="appointment_part_no_show",
    ),
    path("appointment/<str:reference>/cancel/", appointments.cancel, name="appointment_cancel"),
    path("appointment/<str:reference>/move/", appointments.move, name="appointment_move"),
    # Password and code POSTs per address are rate limited (EXPATDESK_RATE_LOGIN), besides axes' lockout.
    path("login/", rate_limited("login")(auth.LoginView.as_view()), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("verify/", rate_limited("login")(auth.verify), name="verify"),
    path("2fa/setup/", auth.totp_setup, name="totp_setup"),
]
