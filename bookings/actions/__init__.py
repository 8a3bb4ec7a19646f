"""Every write with side effects on bookings.

Each public action is one `transaction.atomic(durable=True)` block; it refuses bad requests with
`BookingError`, whose `code` is stable and whose `message` is translatable. The booking invariant is
enforced by the unique constraint on SlotClaim: an insert that loses a race raises IntegrityError,
which becomes `BookingError(SLOT_TAKEN)`; the Python checks before it only make the errors clear.

One module per subject (common, booking, outbox, desk, desk_move, privacy, hours); callers import
from the package: `from bookings import actions`.
"""

from bookings.actions.booking import (
    book_appointment,
    cancel_appointment,
    confirm_hold,
    expire_holds,
    hold_slot,
    reschedule_appointment,
)
from bookings.actions.common import (
    CLAIM_ATTEMPTS,
    BookingError,
    BookingResult,
    PersonName,
)
from bookings.actions.desk import (
    APPOINTMENTS_IN_CLOSURE,
    INVALID_PERIOD,
    MAX_BLOCK_DAYS,
    NO_CAPACITY,
    NOT_TODAY,
    REASON_REQUIRED,
    TOO_EARLY,
    WALK_IN_ATTEMPTS,
    add_closure,
    block_counter,
    check_in,
    end_counter_block,
    finish_service,
    mark_no_show,
    staff_cancel_appointment,
    start_service,
    undo_check_in,
    walk_in,
)
from bookings.actions.desk_move import (
    COUNTER_BLOCKED,
    COUNTER_TAKEN,
    FULL,
    NO_CHANGE,
    move_appointment,
)
from bookings.actions.hours import (
    APPOINTMENTS_OUTSIDE_HOURS,
    INVALID_HOURS,
    AppointmentsOutsideHours,
    change_opening_hours,
)
from bookings.actions.outbox import (
    MANAGE_LINK_RESEND_INTERVAL,
    OUTBOX_MAX_ATTEMPTS,
    claim_outbox_email,
    finish_outbox_email,
    queue_due_reminders,
    requeue_outbox,
    resend_manage_link,
)
from bookings.actions.privacy import (
    ANONYMISE_BATCH,
    EMAIL_REQUIRED,
    ERASURE_DETAIL,
    anonymise_past_appointments,
    erase_personal_data,
    export_personal_data,
)

__all__ = [
    "ANONYMISE_BATCH",
    "APPOINTMENTS_IN_CLOSURE",
    "APPOINTMENTS_OUTSIDE_HOURS",
    "CLAIM_ATTEMPTS",
    "COUNTER_BLOCKED",
    "COUNTER_TAKEN",
    "EMAIL_REQUIRED",
    "ERASURE_DETAIL",
    "FULL",
    "INVALID_HOURS",
    "INVALID_PERIOD",
    "MANAGE_LINK_RESEND_INTERVAL",
    "MAX_BLOCK_DAYS",
    "NOT_TODAY",
    "NO_CAPACITY",
    "NO_CHANGE",
    "OUTBOX_MAX_ATTEMPTS",
    "REASON_REQUIRED",
    "TOO_EARLY",
    "WALK_IN_ATTEMPTS",
    "AppointmentsOutsideHours",
    "BookingError",
    "BookingResult",
    "PersonName",
    "add_closure",
    "anonymise_past_appointments",
    "block_counter",
    "book_appointment",
    "cancel_appointment",
    "change_opening_hours",
    "check_in",
    "claim_outbox_email",
    "confirm_hold",
    "end_counter_block",
    "erase_personal_data",
    "expire_holds",
    "export_personal_data",
    "finish_outbox_email",
    "finish_service",
    "hold_slot",
    "mark_no_show",
    "move_appointment",
    "queue_due_reminders",
    "requeue_outbox",
    "reschedule_appointment",
    "resend_manage_link",
    "staff_cancel_appointment",
    "start_service",
    "undo_check_in",
    "walk_in",
]
