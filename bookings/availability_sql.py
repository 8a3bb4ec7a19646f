"""The hot reads as plain SQL: a snapshot's queries (the configuration's version and the claims, in one
statement for every counter of a location; bookings/availability.py and availability_units.py), the
look-ups of a location and a service by code, and the row lock of a confirmation (or a cancellation, a move)
with its service, location and configuration version.

Read-only (one of them locks the row it reads). The same rows as the ORM queries they replace, without
building a queryset each time: these queries are small and run on every computed answer and every hold, and
building and compiling them through the ORM cost more than running them (about 0.3 ms a query, of a first
free day's 3.6 ms). Parameters are
adapted by the backend's own operations (as the ORM does), and the rows of the model tables are turned into
model instances with `from_db`, their dates and times parsed where the driver gives text (SQLite).

PostgreSQL and SQLite are written out; any other backend takes the ORM path (`plain_sql()` is False).

Each statement's text is built once per shape (model, columns, number of parameters) and database alias and
kept for the process (functools.lru_cache): names, quoting and converters come from the models, which do not
change while a process runs; only the parameters are adapted on each call.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import TypeVar

from django.db import connections, models
from django.db.models import BooleanField, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL

from bookings.models import (
    Appointment,
    ClaimsVersion,
    ConfigurationVersion,
    Counter,
    Location,
    LocationService,
    SlotClaim,
)
from services.models import Service

# Whole seconds since 1970 of a timestamp column, as an integer: date_part gives a double (EXTRACT gives
# numeric, slower to compute and to cast), exact for whole seconds.
_EPOCH_SQL = {
    "postgresql": "CAST(date_part('epoch', {}) AS bigint)",
    "sqlite": "CAST(ROUND((julianday({}) - 2440587.5) * 86400) AS integer)",
}

ModelT = TypeVar("ModelT", bound=models.Model)

_EPOCH_START = datetime(1970, 1, 1, tzinfo=UTC)
# Which claims a claims' query reads (_claims_from).
LIVE, LASTING, HOLDS = "live", "lasting", "holds"


def _alias(using: str | None) -> str:
    return using or _default_alias()


@lru_cache(maxsize=1)
def _default_alias() -> str:
    """The database the models' reads go to (the router's answer for SlotClaim, the same for every model here)."""
    return SlotClaim.objects.db


def plain_sql(using: str | None = None) -> bool:
    return connections[_alias(using)].vendor in _EPOCH_SQL


def sql_name(model: type[models.Model], field: str | None = None) -> str:
    """The quoted table, or table.column, of `model` (and its field `field`)."""
    return _quoted(_alias(None), model, field)


@cache
def _quoted(alias: str, model: type[models.Model], field: str | None) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(model._meta.db_table)
    return table if field is None else f"{table}.{quote(model._meta.get_field(field).column)}"


def key_is(model: type[models.Model], field: str, key: str) -> Q:
    """A filter: `model`'s `field` equals `key`, a key looked up through an index of the non-empty keys only;
    `field` not empty is said as well, in the statement's text and not as a parameter (an empty key finds
    nothing). A connection prepares a statement once it has run it often, and PostgreSQL may then plan it once
    for every key; only a condition in the text lets that plan use such an index, which it cannot know covers
    an unknown key. Without it, the plan read the whole table (README, Performance; tests/support/plans.py)."""
    column = _quoted(_alias(None), model, field)  # the model's own quoted names
    given = RawSQL(f"{column} <> ''", (), output_field=BooleanField())  # noqa: S611 - no value in the text
    return Q(given, **{field: key})


def fetch(sql: str, params: list[object] | None) -> list[tuple]:
    with connections[_alias(None)].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def fetch_claims(sql: str, params: list[object]) -> list[tuple]:
    """`fetch` for a statement that reads claims over a range. The connection prepares a statement it has run
    often (settings: DATABASE_PREPARE_THRESHOLD), and PostgreSQL then plans it once for any values: for six
    weeks of claims that generic plan walked every counter's claims of the range by `claim_unit_start` (9 ms
    for 5,000 claims, against 4 ms planned for the values). Planned for its values, the statement reads the
    counters' claims, or the range's where the history is long (README, Performance): the values go into the
    text (quoted by the driver), and a statement without parameters, prepared or not, has the one plan made for
    the values in it."""
    connection = connections[_alias(None)]
    if connection.vendor != "postgresql":
        return fetch(sql, params)
    return fetch(connection.ops.compose_sql(sql, params), None)


def instances(model: type[ModelT], rows: Iterable[tuple], *, start: int = 0) -> list[ModelT]:
    """Model instances of rows that hold every concrete column of `model` from column `start` on, in the
    fields' order (columns(model)), each value passed through the converters the ORM applies (SQLite gives
    dates, times and booleans as text and integers)."""
    alias = _alias(None)
    connection = connections[alias]
    names, converters = _row_layout(alias, model, start)
    end = start + len(names)
    result = []
    for row in rows:
        if converters:
            row = list(row)
            for index, col, found in converters:
                for convert in found:
                    row[index] = convert(row[index], col, connection)
        result.append(model.from_db(alias, names, row[start:end]))
    return result


@cache
def _row_layout(alias: str, model: type[models.Model], start: int) -> tuple[list[str], list[tuple]]:
    """The attribute names of `model`'s concrete fields and, by column index, the converters of their values."""
    connection = connections[alias]
    fields = model._meta.concrete_fields
    converters = []
    for index, f in enumerate(fields):
        col = f.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((start + index, col, found))
    return [f.attname for f in fields], converters


def columns(model: type[models.Model]) -> str:
    """Every concrete column of `model`, qualified by its table, in the fields' order."""
    return _columns(_alias(None), model)


@cache
def _columns(alias: str, model: type[models.Model]) -> str:
    return ", ".join(_quoted(alias, model, f.name) for f in model._meta.concrete_fields)


def first_of(model: type[ModelT], **equal: object) -> ModelT | None:
    """The row of `model` whose fields equal `equal` (a unique one: a code, a short code), or None: one query,
    without building a queryset (a hold over the API looks up its location and service this way)."""
    if not plain_sql():
        return model._default_manager.filter(**equal).first()
    ops = connections[_alias(None)].ops
    values = [ops.adapt_unknown_value(value) for value in equal.values()]
    found = instances(model, fetch(_first_sql(_alias(None), model, tuple(equal)), values))
    return found[0] if found else None


def first_of_each(*lookups: tuple[type[models.Model], dict[str, object]]) -> list[models.Model | None]:
    """`first_of` for each (model, equal) of `lookups`, in one query: a hold over the API looks up its location
    and its service in one round trip. Each lookup that finds nothing gives None."""
    if not plain_sql():
        return [first_of(model, **equal) for model, equal in lookups]
    ops = connections[_alias(None)].ops
    shape = tuple((model, tuple(equal)) for model, equal in lookups)
    values = [ops.adapt_unknown_value(value) for _model, equal in lookups for value in equal.values()]
    rows = fetch(_first_of_each_sql(_alias(None), shape), values)
    found: list[models.Model | None] = []
    start = 0
    for model, _equal in lookups:
        instance = instances(model, rows[:1], start=start)[0] if rows else None
        found.append(instance if instance is not None and instance.pk is not None else None)  # no row joined: NULLs
        start += len(model._meta.concrete_fields)
    return found


@cache
def _first_of_each_sql(alias: str, shape: tuple[tuple[type[models.Model], tuple[str, ...]], ...]) -> str:
    """SELECT every lookup's columns FROM one row LEFT JOIN each table ON its equalities: a row whatever is found."""
    joins = []
    for model, names in shape:
        on = " AND ".join(f"{_quoted(alias, model, name)} = %s" for name in names)
        joins.append(f" LEFT JOIN {_quoted(alias, model, None)} ON ({on})")
    return (
        f"SELECT {', '.join(_columns(alias, model) for model, _names in shape)} FROM (SELECT 1 AS one) AS one"  # noqa: S608
        + "".join(joins)
        + " LIMIT 1"
    )


@cache
def _first_sql(alias: str, model: type[models.Model], names: tuple[str, ...]) -> str:
    where = " AND ".join(f"{_quoted(alias, model, name)} = %s" for name in names)
    return f"SELECT {_columns(alias, model)} FROM {_quoted(alias, model, None)} WHERE {where} LIMIT 1"  # noqa: S608


def offer_of(*, location_id: int, **service_equal: object) -> LocationService | None:
    """The location's offer (LocationService, its `service` loaded) of the service whose fields equal
    `service_equal` (its code and active flag, say), or None: one query, the row of the ORM's
    `LocationService.objects.select_related("service").filter(location=…, service__…=…).first()`."""
    if not plain_sql():
        return (
            LocationService.objects.select_related("service")
            .filter(location_id=location_id, **{f"service__{name}": value for name, value in service_equal.items()})
            .order_by("pk")
            .first()
        )
    ops = connections[_alias(None)].ops
    values = [*(ops.adapt_unknown_value(value) for value in service_equal.values()), location_id]
    rows = fetch(_offer_sql(_alias(None), tuple(service_equal)), values)
    if not rows:
        return None
    offer = instances(LocationService, rows)[0]
    offer.service = instances(Service, rows, start=len(LocationService._meta.concrete_fields))[0]
    return offer


@cache
def _offer_sql(alias: str, names: tuple[str, ...]) -> str:
    return (
        f"SELECT {_columns(alias, LocationService)}, {_columns(alias, Service)} FROM {_offers_of(alias, names)}"  # noqa: S608
        f" WHERE {_quoted(alias, LocationService, 'location')} = %s ORDER BY {_quoted(alias, LocationService, 'id')}"
        " LIMIT 1"
    )


def _offers_of(alias: str, names: tuple[str, ...]) -> str:
    """The offers joined to their services whose fields `names` equal parameters: `offer_of`'s and
    `location_offer_and_version`'s."""
    on = "".join(f" AND {_quoted(alias, Service, name)} = %s" for name in names)
    offer, service = _quoted(alias, LocationService, None), _quoted(alias, Service, None)
    joined = f"{_quoted(alias, LocationService, 'service')} = {_quoted(alias, Service, 'id')}"
    return f"{offer} INNER JOIN {service} ON ({joined}{on})"


# location_offer_and_version (and the IND API's find_desk_and_offer) where the version was not read with them.
VERSION_NOT_READ = object()


def location_offer_and_version(
    *, location_equal: dict[str, object], service_equal: dict[str, object]
) -> tuple[Location | None, LocationService | None, object]:
    """`first_of(Location, **location_equal)`, that location's `offer_of` the service whose fields equal
    `service_equal`, and the location's configuration version (None: it has none yet), in one query: a computed
    answer reads the rules it keeps under that version without a query of its own (availability's `version`).
    None for a location or an offer not found; the version VERSION_NOT_READ without a location, or without
    plain_sql()."""
    if not plain_sql():
        location = first_of(Location, **location_equal)
        if location is None:
            return None, None, VERSION_NOT_READ
        return location, offer_of(location_id=location.pk, **service_equal), VERSION_NOT_READ
    ops = connections[_alias(None)].ops
    values = [ops.adapt_unknown_value(value) for value in (*location_equal.values(), *service_equal.values())]
    rows = fetch(_location_offer_sql(_alias(None), tuple(location_equal), tuple(service_equal)), values)
    location = instances(Location, rows[:1])[0] if rows else None
    if location is None or location.pk is None:  # no row joined: NULLs
        return None, None, VERSION_NOT_READ
    start = len(Location._meta.concrete_fields)
    offer = instances(LocationService, rows, start=start)[0]
    if offer.pk is None:
        return location, None, rows[0][-1]
    offer.service = instances(Service, rows, start=start + len(LocationService._meta.concrete_fields))[0]
    return location, offer, rows[0][-1]


@cache
def _location_offer_sql(alias: str, location_names: tuple[str, ...], service_names: tuple[str, ...]) -> str:
    location_on = " AND ".join(f"{_quoted(alias, Location, name)} = %s" for name in location_names)
    return (
        f"SELECT {_columns(alias, Location)}, {_columns(alias, LocationService)}, {_columns(alias, Service)},"  # noqa: S608
        f" {_version_column(alias, _quoted(alias, Location, 'id'))}"
        f" FROM (SELECT 1 AS one) AS one LEFT JOIN {_quoted(alias, Location, None)} ON ({location_on})"
        f" LEFT JOIN ({_offers_of(alias, service_names)})"
        f" ON ({_quoted(alias, LocationService, 'location')} = {_quoted(alias, Location, 'id')})"
        f" ORDER BY {_quoted(alias, LocationService, 'id')} LIMIT 1"
    )


def version_column(of: str) -> str:
    """A statement's column of the configuration version (NULL: none) of the location whose id `of` is (an
    expression of the statement)."""
    return _version_column(_alias(None), of)


def _version_column(alias: str, of: str) -> str:
    version = _quoted(alias, ConfigurationVersion, "version")
    table, location = _quoted(alias, ConfigurationVersion, None), _quoted(alias, ConfigurationVersion, "location_id")
    return f"(SELECT {version} FROM {table} WHERE {location} = {of})"  # noqa: S608 - names from the models


def configuration_versions(location_ids: Collection[int]) -> dict[int, int]:
    """location id → the version of its configuration (bookings.models.ConfigurationVersion): one query."""
    if not plain_sql():
        return dict(
            ConfigurationVersion.objects.filter(location_id__in=sorted(location_ids)).values_list(
                "location_id", "version"
            )
        )
    return dict(fetch(_versions_sql(_alias(None), len(location_ids)), sorted(location_ids)))


@lru_cache(maxsize=64)
def _versions_sql(alias: str, count: int) -> str:
    location_id = _quoted(alias, ConfigurationVersion, "location_id")
    return (
        f"SELECT {location_id}, {_quoted(alias, ConfigurationVersion, 'version')}"  # noqa: S608
        f" FROM {_quoted(alias, ConfigurationVersion, None)} WHERE {location_id} IN ({', '.join(['%s'] * count)})"
    )


def claim_rows(
    *,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    counter_ids: Collection[int] | None = None,
    location_id: int | None = None,
    ignore_appointment_id: int | None = None,
    with_lapsed: bool = False,
) -> list[tuple]:
    """The live claims in [range_start, range_end) as (counter id, epoch seconds of the unit's start), of
    `counter_ids` or else of every counter of `location_id`: one query, plain rows. With `with_lapsed`, the
    lapsed claims too, each row with a third column: whether the claim is live. PostgreSQL and SQLite only
    (plain_sql())."""
    return fetch_claims(
        *_claims_query(
            range_start=range_start,
            range_end=range_end,
            now=now,
            counter_ids=counter_ids,
            location_id=location_id,
            ignore_appointment_id=ignore_appointment_id,
            with_lapsed=with_lapsed,
        )
    )


def version_and_claim_rows(
    *,
    location_id: int,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    ignore_appointment_id: int | None = None,
    with_lapsed: bool = False,
) -> tuple[int | None, list[tuple]]:
    """The location's configuration version (None: it has none yet) and the claim rows of `claim_rows` for
    every counter of the location, in one statement, so of one moment: a snapshot of the whole location costs
    one round trip. The version comes as a row of its own whose counter is NULL (a claim's never is)."""
    claims_sql, params = _claims_query(
        range_start=range_start,
        range_end=range_end,
        now=now,
        location_id=location_id,
        ignore_appointment_id=ignore_appointment_id,
        with_lapsed=with_lapsed,
    )
    version = None
    rows = []
    for row in fetch_claims(_version_sql(_alias(None), with_lapsed) + claims_sql, [location_id, *params]):
        if row[0] is None:
            version = row[1]
        else:
            rows.append(row)
    return version, rows


@cache
def _version_sql(alias: str, with_lapsed: bool) -> str:
    """The version's row of version_and_claim_rows, and the UNION ALL that the claims' query follows."""
    return (
        f"SELECT NULL, {_quoted(alias, ConfigurationVersion, 'version')}{', TRUE' if with_lapsed else ''}"  # noqa: S608
        f" FROM {_quoted(alias, ConfigurationVersion, None)}"
        f" WHERE {_quoted(alias, ConfigurationVersion, 'location_id')} = %s UNION ALL "
    )


def _claims_query(
    *,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    counter_ids: Collection[int] | None = None,
    location_id: int | None = None,
    ignore_appointment_id: int | None = None,
    with_lapsed: bool = False,
    words: tuple[int, int] | None = None,
) -> tuple[str, list[object]]:
    """The SQL and parameters of `claim_rows`; with `words` (the base and the step), of `claim_words`."""
    ops = connections[_alias(None)].ops
    now_value = ops.adapt_datetimefield_value(now)
    params: list[object] = [now_value] if with_lapsed else []
    params += [location_id] if counter_ids is None else sorted(counter_ids)
    params += [ops.adapt_datetimefield_value(range_start), ops.adapt_datetimefield_value(range_end)]
    if not with_lapsed:
        params.append(now_value)
    if ignore_appointment_id is not None:
        params.append(ignore_appointment_id)
    counters, ignoring = None if counter_ids is None else len(counter_ids), ignore_appointment_id is not None
    if words is not None:  # the live claims only (`_claim_words_sql`)
        if with_lapsed:
            raise ValueError("The claims as words are the live ones only.")
        base, step = words
        return _claim_words_sql(_alias(None), step=step, counters=counters, ignoring=ignoring), [base, *params]
    return _claims_sql(_alias(None), counters=counters, with_lapsed=with_lapsed, ignoring=ignoring), params


@lru_cache(maxsize=256)
def _claims_sql(alias: str, *, counters: int | None, with_lapsed: bool, ignoring: bool) -> str:
    """The text of the claims' query of one shape: every counter of a location (`counters` None) or so many
    counters, with the lapsed claims or not, leaving one appointment's out or not."""
    counter, unit_start, expires = (
        _quoted(alias, SlotClaim, "counter"),
        _quoted(alias, SlotClaim, "unit_start"),
        _quoted(alias, SlotClaim, "expires_at"),
    )
    epoch = _EPOCH_SQL[connections[alias].vendor].format(unit_start)
    live = f"({expires} IS NULL OR {expires} > %s)"
    return f"SELECT {counter}, {epoch} AS epoch{f', {live}' if with_lapsed else ''}" + _claims_from(
        alias, counters=counters, with_lapsed=with_lapsed, ignoring=ignoring
    )


def _claims_from(alias: str, *, counters: int | None, with_lapsed: bool, ignoring: bool, kind: str = LIVE) -> str:
    """The FROM and WHERE of the claims' query (`_claims_sql`): its parameters the counters (or the location),
    the range's start and end, `now` unless `with_lapsed` or `kind` is LASTING, and the appointment left out
    when `ignoring`. `kind`: the live claims (LIVE), the lasting ones only (LASTING: of bookings and blocks), or
    the live holds only (HOLDS)."""
    counter, unit_start, expires = (
        _quoted(alias, SlotClaim, "counter"),
        _quoted(alias, SlotClaim, "unit_start"),
        _quoted(alias, SlotClaim, "expires_at"),
    )
    sql = f" FROM {_quoted(alias, SlotClaim, None)}"
    if counters is None:
        sql += f" INNER JOIN {_quoted(alias, Counter, None)} ON ({counter} = {_quoted(alias, Counter, 'id')})"
        sql += f" WHERE {_quoted(alias, Counter, 'location')} = %s"
    else:
        sql += f" WHERE {counter} IN ({', '.join(['%s'] * counters)})"
    sql += f" AND {unit_start} >= %s AND {unit_start} < %s"
    if kind == LASTING:
        sql += f" AND {expires} IS NULL"
    elif kind == HOLDS:
        sql += f" AND {expires} IS NOT NULL AND {expires} > %s"  # the first condition: claim_hold_unit_start
    elif not with_lapsed:
        sql += f" AND ({expires} IS NULL OR {expires} > %s)"
    if ignoring:
        appointment = _quoted(alias, SlotClaim, "appointment")
        sql += f" AND NOT ({appointment} = %s AND {appointment} IS NOT NULL)"
    return sql


# ---- the claims each process keeps (bookings/availability_kept.py) ------------------------------------------


def claims_versions_and_holds(
    *,
    location_id: int,
    counter_ids: Collection[int] | None,
    first_day: int,
    last_day: int,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
) -> list[tuple]:
    """In one statement: the location's ClaimsVersion of each UTC day from `first_day` to `last_day` as rows
    (None, day, version), and the live holds in [range_start, range_end) of `counter_ids` (None: every counter
    of the location) as rows (counter id, epoch seconds, None)."""
    ops = connections[_alias(None)].ops
    counters = None if counter_ids is None else len(counter_ids)
    params: list[object] = [location_id, first_day, last_day]
    params += [location_id] if counter_ids is None else sorted(counter_ids)
    params += [ops.adapt_datetimefield_value(moment) for moment in (range_start, range_end, now)]
    return fetch_claims(_versions_and_holds_sql(_alias(None), counters=counters), params)


@lru_cache(maxsize=64)
def _versions_and_holds_sql(alias: str, *, counters: int | None) -> str:
    epoch = _EPOCH_SQL[connections[alias].vendor].format(_quoted(alias, SlotClaim, "unit_start"))
    return (
        _claims_versions_sql(alias)
        + f" UNION ALL SELECT {_quoted(alias, SlotClaim, 'counter')}, {epoch}, NULL"
        + _claims_from(alias, counters=counters, with_lapsed=False, ignoring=False, kind=HOLDS)
    )


# A day's claims version: the XOR of its rows (PostgreSQL may keep a few for a moment: bookings.models
# ClaimsVersion); SQLite's triggers keep one row a day.
_VERSION_OF_ROWS = {"postgresql": "bit_xor", "sqlite": "max"}


def _claims_versions_sql(alias: str) -> str:
    """The (None, day, version) rows of a location's days first to last (parameters: the three)."""
    day, location = _quoted(alias, ClaimsVersion, "day"), _quoted(alias, ClaimsVersion, "location_id")
    version = f"{_VERSION_OF_ROWS[connections[alias].vendor]}({_quoted(alias, ClaimsVersion, 'version')})"
    return (
        f"SELECT NULL, {day}, {version} FROM {_quoted(alias, ClaimsVersion, None)}"  # noqa: S608
        f" WHERE {location} = %s AND {day} >= %s AND {day} <= %s GROUP BY {day}"
    )


def claims_versions_and_lasting_words(*, location_id: int, first_day: int, last_day: int, step: int) -> list[tuple]:
    """In one statement, so of one moment: the location's ClaimsVersion rows of the UTC days `first_day` to
    `last_day` (None, day, version), and the lasting claims of every counter of the location on those days as
    claim_words' rows (counter id, word, bits), their base the first day's UTC midnight."""
    ops = connections[_alias(None)].ops
    base = first_day * 86400
    bounds = [ops.adapt_datetimefield_value(_EPOCH_START + timedelta(seconds=base))]
    bounds.append(ops.adapt_datetimefield_value(_EPOCH_START + timedelta(days=last_day + 1)))
    params = [location_id, first_day, last_day, base, location_id, *bounds]
    return fetch_claims(_versions_and_lasting_words_sql(_alias(None), step=int(step)), params)


@lru_cache(maxsize=64)
def _versions_and_lasting_words_sql(alias: str, *, step: int) -> str:
    return (
        _claims_versions_sql(alias)
        + " UNION ALL "
        + _claim_words_sql(alias, step=step, counters=None, ignoring=False, kind=LASTING)
    )


# The bits of a word of claim_words: PostgreSQL ORs them; SQLite has no bit_or, but a word's bits are distinct
# powers of two (a counter claims a unit once: claim_unique_counter_unit), so their sum is their OR and no
# partial sum leaves the 64-bit range (bit 63 is the only negative one).
_WORD_SUM = {"postgresql": "bit_or", "sqlite": "sum"}
# PostgreSQL would pull the claims' subquery up and work out a claim's epoch seconds once for every use of `s`
# (six): OFFSET 0 keeps the subquery, so once a claim (measured: 2.6 ms against 1.4 for 5,000 claims).
_FENCE = {"postgresql": " OFFSET 0", "sqlite": ""}
WORD_BITS = 64
WORD_MASK = (1 << WORD_BITS) - 1  # a word of claim_words, signed, as its 64 bits


def claim_words(*, base: int, step: int, **claims: object) -> list[tuple[int, int, int]]:
    """The live claims of `claim_rows` (`claims`: its keywords, the lapsed claims not among them) as bits,
    summed by the database: (counter id, word, bits) rows. A claim on the grid (its start `base` + u·`step`
    epoch seconds, u ≥ 0) is bit u % 64 of word u // 64 of its counter, the 64 bits read as a signed integer;
    a claim off the grid comes as a row of its own, (counter id, -1 - (its epoch seconds - `base`), 0). The
    same scan as `claim_rows`, a few hundred rows for thousands of claims (TakenUnits.from_words)."""
    return fetch_claims(*_claims_query(**claims, words=(base, int(step))))


@lru_cache(maxsize=256)
def _claim_words_sql(alias: str, *, step: int, counters: int | None, ignoring: bool, kind: str = LIVE) -> str:
    """The text of claim_words' statement of one shape (`_claims_sql`'s, without the lapsed claims; the lasting
    claims only with `kind` LASTING), its grid `step` (whole seconds) written in."""
    vendor = connections[alias].vendor
    epoch = _EPOCH_SQL[vendor].format(_quoted(alias, SlotClaim, "unit_start"))
    on_grid = f"s = s / {step} * {step}"
    return (
        f"SELECT c, w, {_WORD_SUM[vendor]}(b) FROM (SELECT c,"  # noqa: S608 - names and integers of ours
        f" CASE WHEN {on_grid} THEN s / {step} / {WORD_BITS} ELSE -1 - s END AS w,"
        f" CASE WHEN {on_grid} THEN CAST(1 AS bigint) << CAST((s / {step}) & {WORD_BITS - 1} AS integer)"
        f" ELSE 0 END AS b"
        f" FROM (SELECT {_quoted(alias, SlotClaim, 'counter')} AS c, {epoch} - %s AS s"
        + _claims_from(alias, counters=counters, with_lapsed=False, ignoring=ignoring, kind=kind)
        + f"{_FENCE[vendor]}) AS claims) AS units GROUP BY c, w"
    )


# ---- the row lock of a confirmation, a cancellation, a move ------------------------------------------------


def appointment_for_update(appointment_id: int) -> Appointment | None:
    """The appointment with its service and location loaded and its location's configuration version as
    `configuration_version`, its row locked for the rest of the transaction (PostgreSQL: `FOR UPDATE OF` the
    appointment only, never the joined rows: bookings/actions/booking.py _lock_with_service): one statement,
    the rows the ORM's `select_for_update(of=("self",)).select_related("service", "location")` gives. None
    when there is no such appointment."""
    if not plain_sql():
        version = ConfigurationVersion.objects.filter(location_id=OuterRef("location_id")).values("version")[:1]
        return (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("service", "location")
            .annotate(configuration_version=Subquery(version))
            .filter(pk=appointment_id)
            .first()
        )
    alias = _alias(None)
    rows = fetch(_appointment_for_update_sql(alias), [appointment_id])
    if not rows:
        return None
    appointment = instances(Appointment, rows)[0]
    start = len(Appointment._meta.concrete_fields)
    appointment.service = instances(Service, rows, start=start)[0]
    appointment.location = instances(Location, rows, start=start + len(Service._meta.concrete_fields))[0]
    appointment.configuration_version = rows[0][-1]
    return appointment


@cache
def _appointment_for_update_sql(alias: str) -> str:
    appointment, service, location = (_quoted(alias, model, None) for model in (Appointment, Service, Location))
    version = (
        f"(SELECT {_quoted(alias, ConfigurationVersion, 'version')} FROM {_quoted(alias, ConfigurationVersion, None)}"  # noqa: S608
        f" WHERE {_quoted(alias, ConfigurationVersion, 'location_id')} = {_quoted(alias, Appointment, 'location')})"
    )
    sql = (
        f"SELECT {_columns(alias, Appointment)}, {_columns(alias, Service)}, {_columns(alias, Location)}, {version}"  # noqa: S608
        f" FROM {appointment}"
        f" INNER JOIN {service} ON ({_quoted(alias, Appointment, 'service')} = {_quoted(alias, Service, 'id')})"
        f" INNER JOIN {location} ON ({_quoted(alias, Appointment, 'location')} = {_quoted(alias, Location, 'id')})"
        f" WHERE {_quoted(alias, Appointment, 'id')} = %s"
    )
    return sql + (f" FOR UPDATE OF {appointment}" if connections[alias].features.has_select_for_update_of else "")
