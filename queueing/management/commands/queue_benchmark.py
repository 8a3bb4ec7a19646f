"""What 20 waiting-room displays polling every second and 20 counters calling cost (README, Performance).

    python manage.py queue_benchmark --displays 20 --counters 20 --seconds 30 --call-every 5

It builds a throwaway location on the database DATABASE_URL names (deleted again at the end), with
`--counters` counters, a ticket waiting for every call to come, and `--displays` display devices signed in
through their one-time links. Then it plays `--seconds` seconds of the day in simulated time, as fast as it
can, in one process: every display polls `/display/<slug>/calls.json` once a second with If-None-Match
(through Django's whole middleware stack, in-process), and each counter presses Call next every
`--call-every` seconds (staggered) after finishing its previous ticket. It counts every SQL query and the
process's CPU time, and prints them per simulated second: what the load costs a server, whatever its speed.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from datetime import time as daytime
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import actions as bookings_actions
from bookings.availability import load_snapshot
from bookings.models import Appointment, AppointmentEvent, Counter, Location, LocationService, OpeningHours, SlotClaim
from desk import clock
from queueing import actions as queue
from queueing import devices
from queueing.models import Device, DeviceKind, Ticket, TicketSequence
from services.models import Service

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _open_day(location: Location, after: date) -> date:
    """The first day from `after` on which the desk is open (public holidays are closed)."""
    snapshot = load_snapshot(
        location=location, start_date=after, end_date=after + timedelta(days=14), now=timezone.now()
    )
    return next(day for day in snapshot.days() if snapshot.opening_intervals(day))


class Command(BaseCommand):
    help = "Measure queries and CPU of N displays polling and N counters calling (in-process, simulated time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--displays", type=int, default=20)
        parser.add_argument("--counters", type=int, default=20)
        parser.add_argument("--seconds", type=int, default=30, help="simulated seconds of the day")
        parser.add_argument("--call-every", type=int, default=5, help="seconds between a counter's calls")

    def handle(self, *args, displays: int, counters: int, seconds: int, call_every: int, **options) -> None:
        stamp = time.time_ns() % 10**8
        service = Service.objects.create(
            code=f"queue-bench-{stamp}",
            name_en="Queue benchmark",
            name_nl="Wachtrij-meting",
            description_en="-",
            description_nl="-",
            duration_minutes=5,
            max_persons=1,
            minimum_notice_minutes=0,
        )
        location = Location.objects.create(
            name=f"Queue benchmark {stamp}",
            slug=f"queue-bench-{stamp}",
            short_code="QB" + "".join(chr(65 + int(d) % 26) for d in str(stamp)[-3:]),
            street="-",
            postcode="-",
            city="-",
            grid_minutes=5,
        )
        LocationService.objects.create(location=location, service=service)  # the desk offers it
        try:
            for weekday in range(7):
                OpeningHours.objects.create(
                    location=location, weekday=weekday, start_time=daytime(8), end_time=daytime(18)
                )
            day = _open_day(location, date.today() + timedelta(days=7))
            booked_at = datetime.combine(day - timedelta(days=1), daytime(9), tzinfo=AMSTERDAM)
            start = datetime.combine(day, daytime(10), tzinfo=AMSTERDAM)
            self._run(location, service, day, booked_at, start, displays, counters, seconds, call_every)
        finally:
            self._clean(location, service)

    def _run(self, location, service, day, booked_at, start, displays, counters, seconds, call_every) -> None:
        desk = []
        for index in range(counters):
            counter = Counter.objects.create(location=location, name=f"Counter {index + 1}")
            counter.services.set([service])
            desk.append(counter)
        calls_needed = counters * (seconds // call_every + 1)
        for index in range(calls_needed):
            slot = start + timedelta(minutes=5 * (index // counters))
            appointment = bookings_actions.book_appointment(
                location=location,
                service=service,
                start=slot,
                names=[bookings_actions.PersonName(first_name="Bench", last_name=str(index))],
                contact_email="",
                now=booked_at,
            ).appointment
            # The check-in issues the ticket (queueing.actions.ticket_on_check_in).
            bookings_actions.check_in(appointment=appointment, now=start - timedelta(minutes=20), actor=None)
        screens = []
        for index in range(displays):
            _device, code = devices.create_device(
                location=location, kind=DeviceKind.DISPLAY, name=f"TV {index}", now=start, actor=None
            )
            browser = Client(HTTP_HOST="localhost")
            clock_now, clock.now = clock.now, lambda start=start: start
            try:
                browser.post(reverse("queueing:device_sign_in", args=[code]))
            finally:
                clock.now = clock_now
            screens.append([browser, ""])
        url = reverse("queueing:display_calls", args=[location.slug])

        queries = 0
        call_queries = 0
        statuses = {200: 0, 304: 0}

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        current: dict[int, Ticket | None] = {counter.pk: None for counter in desk}
        saved_now = clock.now
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        try:
            with connection.execute_wrapper(count):
                for second in range(seconds):
                    now = start + timedelta(seconds=second)
                    clock.now = lambda now=now: now
                    before_calls = queries
                    for index, counter in enumerate(desk):
                        if (second + index) % call_every == 0:
                            if current[counter.pk] is not None:
                                queue.finish(ticket=current[counter.pk], counter=counter, now=now, actor=None)
                            current[counter.pk] = queue.call_next(counter=counter, now=now, actor=None)
                    call_queries += queries - before_calls
                    for screen in screens:
                        browser, etag = screen
                        response = browser.get(url, HTTP_IF_NONE_MATCH=etag) if etag else browser.get(url)
                        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                        screen[1] = response.get("ETag", etag)
        finally:
            clock.now = saved_now
        cpu = time.process_time() - cpu_before
        wall = time.perf_counter() - wall_before
        polls = seconds * displays
        calls = sum(1 for _ in Ticket.objects.filter(location=location, first_called_at__isnull=False))
        self.stdout.write(
            f"{displays} displays polling every second, {counters} counters calling every {call_every} s, "
            f"{seconds} simulated seconds:\n"
            f"  polls: {polls} ({statuses.get(200, 0)} answered 200, {statuses.get(304, 0)} answered 304)\n"
            f"  calls: {calls} (each counter's done + call next)\n"
            f"  SQL queries: {queries} = {queries / seconds:.1f} per simulated second; "
            f"calls {call_queries} ({call_queries / max(1, calls):.1f} per done + call), "
            f"polls {queries - call_queries} ({(queries - call_queries) / max(1, statuses.get(200, 0)):.1f} "
            f"per poll answered 200; a 304 costs none)\n"
            f"  CPU: {cpu:.2f} s for {seconds} s of load = {100 * cpu / seconds:.1f}% of one core "
            f"(wall {wall:.2f} s; the database server's own CPU not included)\n"
        )

    def _clean(self, location: Location, service: Service) -> None:
        """Delete the throwaway desk (benchmark data only: not a domain change, so no action)."""
        Ticket.objects.filter(location=location).delete()
        TicketSequence.objects.filter(location=location).delete()
        Device.objects.filter(location=location).delete()
        with transaction.atomic():  # the claims' check at commit sees the appointments gone with them
            AppointmentEvent.objects.filter(appointment__location=location).delete()
            Appointment.objects.filter(location=location).delete()
            SlotClaim.objects.filter(counter__location=location).delete()
        OpeningHours.objects.filter(location=location).delete()
        location.delete()
        service.delete()
