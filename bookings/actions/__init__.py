"""Every write with side effects on bookings.

Each public action is one `transaction.atomic(durable=True)` block; it refuses bad requests with
`BookingError`, whose `code` is stable and whose `message` is translatable. The booking invariant is
enforced by the unique constraint on SlotClaim: an insert that loses a race raises IntegrityError,
which becomes `BookingError(SLOT_TAKEN)`; the Python checks before it only make the errors clear.

One module per subject (common, booking, configuration, outbox, lookup, desk, privacy, hours, employers);
callers import
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
from bookings.actions.configuration import (
    APPOINTMENTS_IN_CLOSURE,
    APPOINTMENTS_OUTSIDE_HOURS,
    CLAIMS_ON_GRID,
    COUNTER_IN_USE,
    INVALID_HOURS,
    INVALID_PERIOD,
    LOCATION_IN_USE,
    AppointmentsOutsideHours,
    ClosureSpec,
    ConfigurationRefused,
    CounterSpec,
    HoursRow,
    add_closure,
    configure_location,
    delete_location,
    save_closure,
)
from bookings.actions.desk import (
    MAX_BLOCK_DAYS,
    NO_CAPACITY,
    NOT_TODAY,
    REASON_REQUIRED,
    TOO_EARLY,
    WALK_IN_ATTEMPTS,
    block_counter,
    check_in,
    end_counter_block,
    finish_service,
    mark_no_show,
    move_appointment,
    staff_cancel_appointment,
    start_service,
    walk_in,
)
from bookings.actions.employers import (
    NOT_AN_EMPLOYER,
    record_employer_booking,
)
from bookings.actions.hours import change_opening_hours
from bookings.actions.lookup import (
    answer_link_request,
    request_booking_links,
    requeue_link_requests,
)
from bookings.actions.outbox import (
    MANAGE_LINK_RESEND_INTERVAL,
    OUTBOX_MAX_ATTEMPTS,
    claim_outbox_email,
    finish_outbox_email,
    issue_bundled_manage_tokens,
    issue_email_manage_token,
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
)

__all__ = [
    "ANONYMISE_BATCH",
    "APPOINTMENTS_IN_CLOSURE",
    "APPOINTMENTS_OUTSIDE_HOURS",
    "CLAIMS_ON_GRID",
    "CLAIM_ATTEMPTS",
    "COUNTER_IN_USE",
    "EMAIL_REQUIRED",
    "ERASURE_DETAIL",
    "INVALID_HOURS",
    "INVALID_PERIOD",
    "LOCATION_IN_USE",
    "MANAGE_LINK_RESEND_INTERVAL",
    "MAX_BLOCK_DAYS",
    "NOT_AN_EMPLOYER",
    "NOT_TODAY",
    "NO_CAPACITY",
    "OUTBOX_MAX_ATTEMPTS",
    "REASON_REQUIRED",
    "TOO_EARLY",
    "WALK_IN_ATTEMPTS",
    "AppointmentsOutsideHours",
    "BookingError",
    "BookingResult",
    "ClosureSpec",
    "ConfigurationRefused",
    "CounterSpec",
    "HoursRow",
    "PersonName",
    "add_closure",
    "anonymise_past_appointments",
    "answer_link_request",
    "block_counter",
    "book_appointment",
    "cancel_appointment",
    "change_opening_hours",
    "check_in",
    "claim_outbox_email",
    "configure_location",
    "confirm_hold",
    "delete_location",
    "end_counter_block",
    "erase_personal_data",
    "expire_holds",
    "finish_outbox_email",
    "finish_service",
    "hold_slot",
    "issue_bundled_manage_tokens",
    "issue_email_manage_token",
    "mark_no_show",
    "move_appointment",
    "queue_due_reminders",
    "record_employer_booking",
    "request_booking_links",
    "requeue_link_requests",
    "requeue_outbox",
    "reschedule_appointment",
    "resend_manage_link",
    "save_closure",
    "staff_cancel_appointment",
    "start_service",
    "walk_in",
]
