""" "Find my booking": the page queues a request, the worker answers it with one e-mail of booking links.

The page does the same work whatever was typed (one insert, one task after the commit), so neither its
wording nor its timing tells whether an address has bookings. The worker deletes the request (the
address is kept no longer than that), looks up the bookings and writes one MANAGE_LINK outbox row, which
lists every live booking of the address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from bookings import abuse, selectors
from bookings.actions.common import _write_email
from bookings.actions.outbox import MANAGE_LINK_RESEND_INTERVAL
from bookings.models import EmailKind, LinkRequest, OutboxEmail
from bookings.tokens import normalise_reference

# A request not answered after this long (its task was lost) is queued again by the outbox sweep …
LINK_REQUEST_REQUEUE_AFTER = timedelta(minutes=1)
# … and one still there after this long is deleted unanswered: the address is not kept.
LINK_REQUEST_MAX_AGE = timedelta(hours=1)


def _answer_after_commit(request_id: int) -> None:
    from bookings.tasks import answer_link_request_task  # the tasks module imports the actions

    transaction.on_commit(lambda: answer_link_request_task.delay(request_id), robust=True)


def request_booking_links(*, email: str, reference: str = "", now: datetime) -> LinkRequest:
    """Queue a "find my booking" request for the worker; the same work whether or not anything matches."""
    with transaction.atomic(durable=True):
        request = LinkRequest.objects.create(email=email.strip(), reference=reference.strip()[:30], created_at=now)
        _answer_after_commit(request.pk)
    return request


def answer_link_request(*, request_id: int, now: datetime) -> OutboxEmail | None:
    """Answer one request: delete it, and write one e-mail with the links of the address's live bookings.

    The booking the reference names, if it is one of them, comes first (a mistyped reference still gets
    the address its links: they go to the address's owner only). Nothing is written when the address has
    no live booking, or was sent its links less than MANAGE_LINK_RESEND_INTERVAL ago; a request answered
    already (a task run twice) does nothing."""
    with transaction.atomic(durable=True):
        request = LinkRequest.objects.select_for_update(skip_locked=True).filter(pk=request_id).first()
        if request is None:
            return None
        email, reference = request.email, normalise_reference(request.reference)
        request.delete()
        abuse.lock_email(email)  # two requests for one address: one e-mail
        live = selectors.live_bookings_for_email(email=email, now=now)
        if not live:
            return None
        recent = OutboxEmail.objects.filter(
            appointment__in=live,
            kind=EmailKind.MANAGE_LINK,
            created_at__gt=now - MANAGE_LINK_RESEND_INTERVAL,
        )
        if recent.exists():
            return None
        first = next((booking for booking in live if booking.reference == reference), live[0])
        last = OutboxEmail.objects.filter(appointment=first, kind=EmailKind.MANAGE_LINK).order_by("-revision").first()
        return _write_email(
            appointment=first, kind=EmailKind.MANAGE_LINK, revision=(last.revision + 1) if last else 1, now=now
        )


def requeue_link_requests(*, now: datetime) -> int:
    """Beat: queue again the requests whose task was lost; delete those too old to answer. Returns how many
    were queued."""
    from bookings.tasks import answer_link_request_task

    with transaction.atomic(durable=True):
        LinkRequest.objects.filter(created_at__lt=now - LINK_REQUEST_MAX_AGE).delete()
    ids = list(
        LinkRequest.objects.filter(created_at__lte=now - LINK_REQUEST_REQUEUE_AFTER)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for request_id in ids:
        answer_link_request_task.delay(request_id)
    return len(ids)
