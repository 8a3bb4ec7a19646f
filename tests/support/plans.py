"""The plan PostgreSQL makes for a statement once for any values (a generic plan), as for a statement a
connection has prepared after running it often (settings: DATABASE_PREPARE_THRESHOLD)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from django.db import connection

_TYPES = ((bool, "boolean"), (int, "bigint"), (datetime, "timestamptz"))


def _type_of(value: object) -> str:
    return next((name for kind, name in _TYPES if isinstance(value, kind)), "text")


def generic_plan(sql: str, params: Sequence[object]) -> str:
    """EXPLAIN of the generic plan of `sql` (%s placeholders) with sequential scans priced out: a plan that has
    no index to use for a table still reads it with a "Seq Scan on <table>", one that has an index does not."""
    numbered = sql
    for number in range(1, len(params) + 1):
        numbered = numbered.replace("%s", f"${number}", 1)
    types = ", ".join(_type_of(value) for value in params)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        # PREPARE by the simple protocol: over the extended one, its $1 would be read as the PREPARE's own.
        connection.connection.pgconn.exec_(f"PREPARE generic_probe ({types}) AS {numbered}".encode())
        try:
            arguments = ", ".join(["%s"] * len(params))
            cursor.execute(connection.ops.compose_sql(f"EXPLAIN EXECUTE generic_probe({arguments})", params))
            return "\n".join(line for (line,) in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE generic_probe")


def last_statement(run: Callable[[], object]) -> tuple[str, Sequence[object]]:
    """The SQL and parameters of the last statement `run` sends."""
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params or ()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        run()
    return sent[-1]
