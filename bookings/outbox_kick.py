"""Queueing an outbox row's send task after the commit that wrote it, without a broker publish per row in a burst.

One booking in a quiet minute is sent at once: its own task (`send_outbox_email`) is published after the
commit, as always. The window of EXPATDESK_OUTBOX_KICK_SECONDS that this opens in the process covers the rows
committed after it: the second one publishes one delayed task (`send_new_outbox_emails`) due at the window's
end, which queues every row never attempted (actions.queue_new_outbox); the third and later ones publish
nothing, since that task runs after their commit and finds them. Under load a worker process then publishes
two messages a window instead of one a booking (a Celery publish is about a tenth of a booking's CPU in the
HTTP benchmark, README "Performance").

Nothing here decides who sends: the send task claims its row with one UPDATE (actions.claim_outbox_email), so
a row queued twice is sent once, and a row whose task is lost (Redis down, a delayed task dropped) is queued
again by the sweep (sweep-outbox, every minute). Run eagerly (the embedded default, the tests) there is no
broker to spare and every row's task runs at its commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings

_lock = threading.Lock()
_window_ends = 0.0  # time.monotonic() at which this process's window ends
_kick_published = False  # whether this window's delayed task is published


def queue_send(email_id: int, *, clock: Callable[[], float] = time.monotonic) -> str:
    """After the commit of outbox row `email_id`: publish what makes it go out. Returns what was published
    ("row", "kick" or "" when this window's delayed task covers the row)."""
    from bookings.tasks import send_new_outbox_emails, send_outbox_email  # the tasks import the actions

    global _window_ends, _kick_published
    window = settings.EXPATDESK_OUTBOX_KICK_SECONDS
    if window <= 0 or current_app.conf.task_always_eager:
        send_outbox_email.delay(email_id)
        return "row"
    with _lock:
        now = clock()
        if now >= _window_ends:
            send_outbox_email.delay(email_id)  # raises when the broker is down: no window opens then
            _window_ends, _kick_published = now + window, False
            return "row"
        if _kick_published:
            return ""
        # Due at the window's end, after this commit and the commits of the rows this window skips.
        send_new_outbox_emails.apply_async(countdown=_window_ends - now)
        _kick_published = True
        return "kick"


def forget() -> None:
    """Close this process's window (tests)."""
    global _window_ends, _kick_published
    with _lock:
        _window_ends, _kick_published = 0.0, False
