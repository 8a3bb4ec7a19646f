"""The HTTP benchmark: gunicorn (4 workers) on PostgreSQL and Redis, every row of issue 10's table
interleaved with two bare baselines, printed with req/s, p95/p99 and the ratio to the baseline.

    python manage.py benchmark --http [--duration 10] [--connections 32] [--locations 40] [--history 1000000]

What it does, on this machine only (127.0.0.1):
1. builds a throwaway database `<DATABASE_URL's name>_bench` (dropped first, and at the end), migrates
   it and fills it: the benchmark desk of the in-process mode (bookings/management/commands/benchmark.py),
   a booking desk (32 empty counters) and a stampede desk (exactly 50 free slots);
2. empties the Redis database of REDIS_URL (point it at one the benchmark may empty);
3. starts two gunicorns with the production settings: A as deployed, B with EXPATDESK_SLOT_CACHE_SECONDS=0
   (nothing shared: every answer computed), both with EXPATDESK_BENCHMARK_URLS=true for the baselines
   (/bench/json/: a bare Django JSON view; /bench/insert/: a bare view committing one INSERT) and with the
   per-address limits raised (one address sends everything);
4. runs each GET row with wrk (Debian's `wrk`; `make bench` installs it) right after a run of the bare
   JSON view, and the booking rows with a small threaded client right after a run of the bare INSERT view;
5. prints the table and stops both gunicorns (by the process groups it started).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PORTS = {"A": 8391, "B": 8392}


@dataclass
class Result:
    label: str
    rate: float  # requests (or bookings) per second
    p95: float  # ms
    p99: float  # ms
    errors: str = ""
    baseline: Result | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)
    count: int = 0  # requests (or bookings) made
    # CPU time a request (or booking) of the row's gunicorn workers and of PostgreSQL's backends of the
    # throwaway database, in ms (Meter); None where /proc is not there to read it.
    cpu: tuple[float, float] | None = None


# ---- the throwaway database ------------------------------------------------------------------------------


def bench_database_url(url: str) -> str:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") + "_bench"
    return parsed._replace(path="/" + name).geturl()


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
        autocommit=True,
    )
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def drop_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    admin = psycopg.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
        autocommit=True,
    )
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
    admin.close()


def fill(args: argparse.Namespace) -> dict:
    """Migrate and fill the throwaway database (this process is its only Django)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from bookings import availability
    from bookings.management.commands.benchmark import seed
    from bookings.models import Counter, Location, LocationService, OpeningHours, SlotClaim
    from services.models import Service

    call_command("migrate", verbosity=0)
    now = timezone.now()
    desk = seed(
        locations=args.locations,
        counters=args.counters,
        appointments=args.appointments,
        days=args.days,
        history=args.history,
        now=now,
    )
    service = desk.service
    booking_desk = Location.objects.create(
        name="Booking desk", slug="booking-desk", short_code="BKD", street="-", postcode="-", city="-"
    )
    LocationService.objects.create(location=booking_desk, service=service)
    for number in range(32):
        Counter.objects.create(location=booking_desk, name=f"Counter {number + 1}").services.add(service)
    OpeningHours.objects.bulk_create(
        OpeningHours(location=booking_desk, weekday=weekday, start_time=begin, end_time=end)
        for weekday in range(5)
        for begin, end in (("09:00", "12:30"), ("13:30", "17:00"))
    )
    # The stampede: one counter open on one day only, 08:00-20:30: exactly 50 free slots in the horizon.
    stampede_service = Service.objects.create(
        code="stampede-service",
        name_en="Stampede",
        name_nl="Stampede",
        description_en="-",
        description_nl="-",
        duration_minutes=15,
        max_persons=1,
        minimum_notice_minutes=0,
        booking_horizon_days=6,
    )
    stampede = Location.objects.create(
        name="Stampede desk", slug="stampede-desk", short_code="STMP", street="-", postcode="-", city="-"
    )
    LocationService.objects.create(location=stampede, service=stampede_service)
    Counter.objects.create(location=stampede, name="Counter 1").services.add(stampede_service)
    today = now.astimezone(stampede.tz).date()
    day = today + timedelta(days=3)
    OpeningHours.objects.create(location=stampede, weekday=day.weekday(), start_time="08:00", end_time="20:30")
    stampede_slots = [
        slot.start.isoformat()
        for slot in availability.free_slots(
            location=stampede,
            service=stampede_service,
            persons=1,
            start_date=today,
            end_date=day + timedelta(3),
            now=now,
        ).get(day, [])
    ]
    booking_starts = [
        slot.start.isoformat()
        for slots in availability.free_slots(
            location=booking_desk,
            service=service,
            persons=1,
            start_date=today + timedelta(days=1),
            end_date=desk.end_date,
            now=now,
        ).values()
        for slot in slots
    ]
    first_day = min(
        (
            d
            for d in availability.free_days(
                location=desk.location, service=service, persons=1, start_date=today, end_date=desk.end_date, now=now
            )
            if d > today
        ),
        default=today,
    )
    # One lasting claim of each day of the desk's horizon: the row "a day's claims changed" updates them in turn.
    changed: dict[object, int] = {}
    lasting = SlotClaim.objects.filter(counter__location=desk.location, expires_at__isnull=True, unit_start__gte=now)
    for pk, unit_start in lasting.order_by("pk").values_list("pk", "unit_start"):
        changed.setdefault(unit_start.date(), pk)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")
        cursor.execute("VACUUM ANALYZE")
    info = {
        "desk": desk.location.short_code,
        "slug": desk.location.slug,
        "service": service.code,
        "product": service.code.upper(),
        "booked": desk.booked,
        "first_day": first_day.isoformat(),
        "stampede_slots": stampede_slots,
        "stampede_service": stampede_service.code,
        "booking_starts": booking_starts,
        "changed_claims": list(changed.values()),
    }
    connections.close_all()
    return info


# ---- gunicorn --------------------------------------------------------------------------------------------


def server_env(database_url: str, *, shared: bool) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "expatdesk.settings.production",
        "DJANGO_SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "60",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "ERROR",  # not a line per 409 of the stampede
        "EXPATDESK_BENCHMARK_URLS": "true",
        # The booking clients each send their own address as the one trusted proxy would (Client); wrk sends
        # none, so its rows count 127.0.0.1.
        "EXPATDESK_TRUSTED_PROXIES": "1",
        # One address sends every request of wrk, and each booking client books far more than a person:
        # the per-address limits would measure themselves.
        "EXPATDESK_API_POLL_RATE": "100000000/m",
        "EXPATDESK_API_WRITE_RATE": "100000000/m",
        "EXPATDESK_MAX_HOLDS_PER_IP": "100000000",
        # ... and so would the fair shares of that address and of the benchmark's mailboxes (they are still
        # counted, one query a hold and a booking; tests/test_fairness.py shows them refusing).
        "EXPATDESK_FAIR_SHARE_DAY_MINUTES": "100000000",
        "EXPATDESK_FAIR_SHARE_HORIZON_MINUTES": "100000000",
        "EXPATDESK_ONE_BOOKING_PER_EMAIL": "false",
        "EXPATDESK_COOLDOWN_CANCELLATIONS": "0",
    }
    if not shared:
        env["EXPATDESK_SLOT_CACHE_SECONDS"] = "0"
    return env


def start_server(name: str, env: dict) -> subprocess.Popen:
    command = [
        PYTHON, "-m", "gunicorn", "expatdesk.wsgi", "--bind", f"127.0.0.1:{PORTS[name]}", "--workers", "4",
        "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True)  # noqa: S603


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"gunicorn on port {port} did not become healthy")


def stop(server: subprocess.Popen) -> None:
    with_group = os.getpgid(server.pid)
    os.killpg(with_group, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(with_group, signal.SIGKILL)


# ---- load ------------------------------------------------------------------------------------------------


def wrk(label: str, server: str, path: str, *, seconds: int, connections: int, post: bool = False) -> Result:
    env = {**os.environ}
    if post:
        env["BENCH_METHOD"] = "POST"
    script = str(BASE_DIR / "bench" / "report.lua")
    url = f"http://127.0.0.1:{PORTS[server]}{path}"
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script, url]
    output = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout  # noqa: S603
    report = json.loads(output.strip().splitlines()[-1])
    errors = []
    if report["non2xx"]:
        errors.append(f"{report['non2xx']} non-2xx")
    if report["socket_errors"]:
        errors.append(f"{report['socket_errors']} socket errors")
    return Result(
        label, report["requests"] / report["seconds"], report["p95"], report["p99"], ", ".join(errors),
        count=report["requests"],
    )  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share / 100 * (len(ordered) - 1)))]


class Client:
    """One person booking: their own address (sent as the one trusted proxy would, X-Forwarded-For) and their
    own e-mail address, so the per-address and per-mailbox locks of the fairness rules (bookings/abuse.py)
    serialise only what one person does, as they do for real visitors."""

    def __init__(self, port: int, number: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {
            "Content-Type": "application/json",
            "X-Forwarded-For": f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}",
        }
        self.email = f"bench{number}@example.org"

    def post(self, path: str, data: dict) -> tuple[int, dict, float]:
        body = json.dumps(data)
        started = time.perf_counter()
        try:
            self.connection.request("POST", path, body=body, headers=self.headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            return 599, {}, (time.perf_counter() - started) * 1000
        elapsed = (time.perf_counter() - started) * 1000
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {}
        return response.status, answer, elapsed


class ChangingDays:
    """While running: every `every` seconds an UPDATE of one lasting claim of another day, committed (claims
    versions, bookings/availability_kept.py): the workers that keep the desk's claims read that day again on
    their next answer, as after a booking. Made over a connection of its own, outside the servers measured (its
    backend's CPU, about 0.4 ms a change, is counted with PostgreSQL's of the row)."""

    def __init__(self, database_url: str, claim_ids: list[int], *, every: float) -> None:
        self.database_url, self.claim_ids, self.every = database_url, claim_ids, every
        self.stop = threading.Event()
        self.changes = 0
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self.stop.wait(self.every):
                claim_id = self.claim_ids[self.changes % len(self.claim_ids)]
                connection.execute("UPDATE bookings_slotclaim SET unit_end = unit_end WHERE id = %s", [claim_id])
                self.changes += 1

    def __enter__(self) -> ChangingDays:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join()


def hold_and_book(client: Client, *, location: str, service: str, start: str, statuses: list, latencies: list) -> bool:
    status, held, elapsed = client.post(
        "/api/v1/holds/", {"location": location, "service": service, "start": start, "persons": 1}
    )
    statuses.append(status)
    latencies.append(elapsed)
    if status != 201:
        return False
    status, _booked, elapsed_book = client.post(
        "/api/v1/bookings/",
        {
            "hold_token": held["hold_token"],
            "names": [{"first_name": "Bench", "last_name": "Mark"}],
            "email": client.email,
            "phone": "",
            "language": "en",
            "consent": True,
        },
    )
    statuses.append(status)
    latencies.append(elapsed_book)
    return status == 201


def bookings_run(*, starts: list[str], service: str, seconds: int, connections: int) -> Result:
    """32 clients, each booking other slots (hold, then book) for `seconds`."""
    statuses: list[int] = []
    pair_latencies: list[float] = []
    booked = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    # Client i books starts i, i+n, i+2n, ...: a different slot each (the desk has 32 counters a start).
    work = [starts[i::connections] for i in range(connections)]

    def run(number: int, mine: list[str]) -> None:
        client = Client(PORTS["A"], number)
        local_statuses: list[int] = []
        for start in mine * 32:
            if time.monotonic() >= deadline:
                break
            began = time.perf_counter()
            latencies: list[float] = []
            done = hold_and_book(
                client, location="BKD", service=service, start=start, statuses=local_statuses, latencies=latencies
            )
            with lock:
                pair_latencies.append((time.perf_counter() - began) * 1000)
                booked[0] += done
        with lock:
            statuses.extend(local_statuses)

    began = time.monotonic()
    threads = [threading.Thread(target=run, args=(number, mine)) for number, mine in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    failures = [s for s in statuses if s >= 500]
    return Result(
        "booking (hold + book, /api/v1)",
        booked[0] / elapsed,
        percentile(pair_latencies, 95),
        percentile(pair_latencies, 99),
        f"{len(failures)} 5xx" if failures else "",
        note=f"{booked[0]} bookings",
        count=booked[0],
    )


def stampede_run(*, slots: list[str], service: str, attempts: int = 2000, clients: int = 200) -> Result:
    statuses: list[int] = []
    latencies: list[float] = []
    booked = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    rng = random.Random(10)
    plans = [[rng.choice(slots) for _ in range(attempts // clients)] for _ in range(clients)]

    def run(number: int, plan: list[str]) -> None:
        client = Client(PORTS["A"], number)
        mine_statuses: list[int] = []
        mine_latencies: list[float] = []
        done = 0
        barrier.wait()
        for start in plan:
            done += hold_and_book(
                client, location="STMP", service=service, start=start, statuses=mine_statuses, latencies=mine_latencies
            )
        with lock:
            statuses.extend(mine_statuses)
            latencies.extend(mine_latencies)
            booked[0] += done

    began = time.monotonic()
    threads = [threading.Thread(target=run, args=(number, plan)) for number, plan in enumerate(plans)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    server_errors = sum(1 for s in statuses if s >= 500)
    return Result(
        f"stampede: {attempts} attempts at {len(slots)} slots, {clients} clients",
        len(statuses) / elapsed,
        percentile(latencies, 95),
        percentile(latencies, 99),
        f"{server_errors} 5xx",
        note=f"{booked[0]} booked",
        extra={"booked": booked[0], "server_errors": server_errors},
        count=len(statuses),
    )


# ---- CPU a request ----------------------------------------------------------------------------------------


class Meter:
    """The CPU time (user + system, from /proc) of a gunicorn's processes and of PostgreSQL's backends of one
    database over a row: what a request costs the machine, which a row's throughput tells only as far as the
    machine's speed holds still (on a noisy machine it does not: README, Performance)."""

    def __init__(self, *, database: str) -> None:
        self.database = database
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @staticmethod
    def available() -> bool:
        return Path("/proc/self/stat").exists()

    @staticmethod
    def _fields(pid: int | str) -> list[str] | None:
        """The fields of /proc/<pid>/stat after the command's name, or None for a process gone meanwhile."""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return stat[stat.rindex(")") + 2 :].split()

    def _cpu_of(self, fields: list[str]) -> float:
        return (int(fields[11]) + int(fields[12])) / self.tick

    def _cpu(self, pid: int) -> float | None:
        fields = self._fields(pid)
        return None if fields is None else self._cpu_of(fields)

    def read(self, server: subprocess.Popen) -> tuple[dict[int, float], dict[int, float]]:
        """CPU seconds so far per process: the server's (its process group), PostgreSQL's of the database."""
        group = os.getpgid(server.pid)
        ours: dict[int, float] = {}
        postgres: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or (fields := self._fields(entry.name)) is None:
                continue
            if int(fields[2]) == group:
                ours[int(entry.name)] = self._cpu_of(fields)
                continue
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
            if command.startswith("postgres:") and f" {self.database} " in command:
                postgres[int(entry.name)] = self._cpu_of(fields)
        return ours, postgres

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds between the readings (a process that ended in between is not counted: none should)."""
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())

    def measure(self, server: subprocess.Popen, run: Callable[[], Result]) -> Result:
        """Run the row, with its CPU a request (ms) when /proc can be read."""
        if not self.available():
            return run()
        ours, postgres = self.read(server)
        result = run()
        ours_after, postgres_after = self.read(server)
        if result.count:
            result.cpu = (
                self.spent(ours, ours_after) * 1000 / result.count,
                self.spent(postgres, postgres_after) * 1000 / result.count,
            )
        return result


# ---- the run ---------------------------------------------------------------------------------------------


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def cpu_column(result: Result) -> str:
    """ "2.10 + 0.40 ms", with the ratio of the baseline's CPU a request to the row's where it has a baseline."""
    if result.cpu is None:
        return ""
    server, database = result.cpu
    text = f"{server:.2f} + {database:.2f} ms"
    if result.baseline is not None and result.baseline.cpu is not None and server + database > 0:
        # The baseline's CPU a request over the row's: the "vs baseline" a CPU-bound machine that held still gives.
        text += f" (ratio {sum(result.baseline.cpu) / (server + database):.0%})"
    return text


def table(results: list[Result]) -> str:
    lines = [
        "| request | req/s | p95 | p99 | vs baseline | CPU a request: gunicorn + PostgreSQL | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        ratio = ""
        if result.baseline is not None and result.baseline.rate:
            ratio = (
                f"{result.rate / result.baseline.rate:.0%} of {result.baseline.label} ({result.baseline.rate:,.0f}/s)"
            )
        notes = "; ".join(part for part in (result.note, result.errors) if part)
        cpu = cpu_column(result)
        lines.append(
            f"| {result.label} | {result.rate:,.0f} | {result.p95:.1f} ms | {result.p99:.1f} ms | {ratio} | {cpu} "
            f"| {notes} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("appointments", 5000), ("counters", 8), ("days", 42), ("locations", 1), ("history", 0)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--duration", type=int, default=10, help="seconds per row")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (or: make bench)")
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        raise SystemExit("The HTTP benchmark needs DATABASE_URL (PostgreSQL) and REDIS_URL.")
    sys.path.insert(0, str(BASE_DIR))
    bench_url = bench_database_url(database_url)
    print(f"Throwaway database {urlparse(bench_url).path.lstrip('/')}; Redis {redis_url} (emptied)", flush=True)
    recreate_database(bench_url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expatdesk.settings.local")
    started = time.monotonic()
    info = fill(args)
    print(
        f"Filled in {time.monotonic() - started:.0f} s: {args.locations} location(s) x {args.counters} counters, "
        f"{info['booked']} booked appointments a location over {args.days} days, {args.history} past ones; "
        f"booking desk: {len(info['booking_starts'])} starts x 32 counters; stampede desk: "
        f"{len(info['stampede_slots'])} free slots",
        flush=True,
    )
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env_a, env_b = server_env(bench_url, shared=True), server_env(bench_url, shared=False)
    subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=BASE_DIR, env=env_a, check=True
    )
    servers = {"A": start_server("A", env_a), "B": start_server("B", env_b)}
    meter = Meter(database=urlparse(bench_url).path.lstrip("/"))
    results: list[Result] = []
    try:
        for port in PORTS.values():
            wait_healthy(port)
        desk, service, product, day = info["desk"], info["service"], info["product"], info["first_day"]
        gets = [
            ("`/oap/api` slots, answered from the cache", "A", f"/oap/api/desks/{desk}/slots/?productKey={product}"),
            ("`/oap/api` slots, computed (six weeks)", "B", f"/oap/api/desks/{desk}/slots/?productKey={product}"),
            ("`/api/v1` free days (horizon), cached", "A", f"/api/v1/locations/{desk}/services/{service}/free-days/"),
            ("`/api/v1` free days (horizon), computed", "B", f"/api/v1/locations/{desk}/services/{service}/free-days/"),
            ("public calendar page (HTML)", "A", f"/{info['slug']}/book/{service}/calendar/?persons=1"),
            ("public times page (HTML)", "A", f"/{info['slug']}/book/{service}/{day}/?persons=1"),
        ]
        seconds, connections = args.duration, args.connections
        print(f"Warming up; then {seconds} s a row, {connections} connections; {machine()}", flush=True)
        for _label, server, path in gets:
            wrk("warm-up", server, path, seconds=2, connections=4)
        wrk("warm-up", "A", "/bench/json/", seconds=2, connections=4)
        wrk("warm-up", "A", "/bench/insert/", seconds=2, connections=4, post=True)

        def measured(label: str, server: str, path: str, *, post: bool = False) -> Result:
            return meter.measure(
                servers[server],
                lambda: wrk(label, server, path, seconds=seconds, connections=connections, post=post),
            )

        for label, server, path in gets:
            baseline = measured("bare JSON view", "A", "/bench/json/")
            results.append(baseline)
            result = measured(label, server, path)
            result.baseline = baseline
            results.append(result)
            print(f"  {label}: {result.rate:,.0f}/s (bare JSON view {baseline.rate:,.0f}/s)", flush=True)
        # The computed slot list while the desk's lasting claims change, one day every 0.1 s.
        label = "`/oap/api` slots, computed, a day's claims changed every 0.1 s"
        baseline = measured("bare JSON view", "A", "/bench/json/")
        results.append(baseline)
        with ChangingDays(bench_url, info["changed_claims"], every=0.1) as changing:
            result = measured(label, "B", gets[1][2])
        result.baseline, result.note = baseline, f"{changing.changes} changes"
        results.append(result)
        print(f"  {label}: {result.rate:,.0f}/s (bare JSON view {baseline.rate:,.0f}/s)", flush=True)
        baseline = measured("bare INSERT view", "A", "/bench/insert/", post=True)
        results.append(baseline)
        booking = meter.measure(
            servers["A"],
            lambda: bookings_run(
                starts=info["booking_starts"], service=service, seconds=seconds, connections=connections
            ),
        )
        booking.baseline = baseline
        results.append(booking)
        print(f"  booking: {booking.rate:,.0f} bookings/s (bare INSERT view {baseline.rate:,.0f}/s)", flush=True)
        stampede = meter.measure(
            servers["A"], lambda: stampede_run(slots=info["stampede_slots"], service=info["stampede_service"])
        )
        results.append(stampede)
        print(f"  stampede: {stampede.note}, {stampede.errors}", flush=True)
    finally:
        for server in servers.values():
            stop(server)
    print()
    print(f"Machine: {machine()}; gunicorn 4 workers each (A shared answers, B none), PostgreSQL and Redis local;")
    print(f"finished {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.")  # the README gives its times in UTC
    print()
    print(table(results))
    drop_database(bench_url)


if __name__ == "__main__":
    main()
