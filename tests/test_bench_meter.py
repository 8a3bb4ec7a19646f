"""The HTTP benchmark's CPU a request (bench/httpbench.py, Meter): the CPU of the server's process group over a
row, divided by the row's requests, and nothing of the process that drives the load."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.httpbench import Meter, Result, cpu_column

SPIN = "import time\nbegan = time.process_time()\nwhile time.process_time() - began < 0.3:\n    pass\ntime.sleep(60)\n"


def burn(seconds: float) -> None:
    began = time.process_time()
    while time.process_time() - began < seconds:
        pass


def test_the_meter_counts_the_servers_process_group_and_not_the_load():
    meter = Meter(database="no_such_database_here")
    server = subprocess.Popen([sys.executable, "-c", SPIN], start_new_session=True)  # noqa: S603
    try:

        def run() -> Result:
            burn(1.0)  # the load's own CPU: not the server's
            deadline = time.monotonic() + 30
            while (meter._cpu(server.pid) or 0) < 0.3 and time.monotonic() < deadline:
                time.sleep(0.02)
            return Result("row", 10.0, 1.0, 1.0, count=10)

        result = meter.measure(server, run)
    finally:
        server.kill()
        server.wait()
    assert result.cpu is not None
    ours, postgres = result.cpu
    # 0.3 s of the server's CPU over 10 requests: 30 ms, less what the first reading already saw of its start
    # (the kernel counts in ticks of 10 ms), more what it spent before the loop; the load's second would have
    # made it 130.
    assert 25 <= ours < 100, result.cpu
    assert postgres == 0


def test_the_cpu_column_gives_the_ratio_to_the_baseline():
    baseline = Result("bare JSON view", 1000.0, 1.0, 1.0, count=1000, cpu=(0.4, 0.0))
    row = Result("computed", 100.0, 1.0, 1.0, count=100, cpu=(3.0, 1.0), baseline=baseline)
    assert cpu_column(row) == "3.00 + 1.00 ms (ratio 10%)"
    assert cpu_column(baseline) == "0.40 + 0.00 ms"
    assert cpu_column(Result("no /proc", 1.0, 1.0, 1.0)) == ""
