"""A version of each location's lasting claims of each UTC day, drawn anew by database triggers on every change
of those claims (bookings.models.ClaimsVersion; docs/locking.md §2), and an index of the holds' claims."""

from django.db import migrations, models

VERSIONS = "bookings_claimsversion"
CLAIMS = "bookings_slotclaim"
COUNTERS = "bookings_counter"

POSTGRESQL_RANDOM = "floor(random() * 9e18)::bigint"
SQLITE_RANDOM = "abs(random() % 4611686018427387904)"
# Days since 1970-01-01 UTC of a claim's unit_start (bookings.availability_kept.utc_day says the same).
POSTGRESQL_DAY = "CAST(CAST(date_part('epoch', {}) AS bigint) / 86400 AS integer)"
SQLITE_DAY = "(CAST(ROUND((julianday({}) - 2440587.5) * 86400) AS integer) / 86400)"


# A new version of a location's days, never waiting for another transaction: a row of its own for each (location,
# day), and the day's other rows that no other transaction is deleting go (SKIP LOCKED). The version of a day is
# the XOR of its rows' random values (availability_sql), which every committed change makes new: a day keeps the
# row of the last change committed, and its value was never drawn before. An UPDATE of one row a day would make
# every writer of that day wait for the others' commits, and two moves between the same two days wait for each
# other in a circle.
POSTGRESQL_NEW_VERSIONS = f"""
CREATE FUNCTION bookings_new_claims_versions(locations bigint[], days integer[]) RETURNS void LANGUAGE sql AS $$
    WITH changed AS (SELECT DISTINCT location_id, day FROM unnest(locations, days) AS changed (location_id, day)),
    older AS (
        SELECT version.id FROM {VERSIONS} AS version
        INNER JOIN changed ON (changed.location_id = version.location_id AND changed.day = version.day)
        FOR UPDATE OF version SKIP LOCKED
    ),
    gone AS (DELETE FROM {VERSIONS} WHERE id IN (SELECT id FROM older))
    INSERT INTO {VERSIONS} (location_id, day, version) SELECT location_id, day, {POSTGRESQL_RANDOM} FROM changed
$$"""


def _postgresql_new_versions(rows: str) -> str:
    """A statement: new versions of the (location, day) of every lasting claim of the transition table `rows`."""
    day = POSTGRESQL_DAY.format("claim.unit_start")
    return f"""
    PERFORM bookings_new_claims_versions(array_agg(counter.location_id), array_agg({day}))
    FROM {rows} AS claim INNER JOIN {COUNTERS} AS counter ON (counter.id = claim.counter_id)
    WHERE claim.expires_at IS NULL;"""


def _postgresql() -> list[str]:
    # Statement triggers with transition tables: one call a statement, whatever the rows (a bulk load too).
    functions = {
        "inserted": _postgresql_new_versions("new_rows"),
        "deleted": _postgresql_new_versions("old_rows"),
        "updated": _postgresql_new_versions("old_rows") + _postgresql_new_versions("new_rows"),
    }
    statements = [POSTGRESQL_NEW_VERSIONS]
    statements += [
        f"CREATE FUNCTION bookings_claims_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN{body}\n"
        "    RETURN NULL;\nEND $$"
        for name, body in functions.items()
    ]
    statements += [
        f"CREATE TRIGGER {CLAIMS}_inserted_version AFTER INSERT ON {CLAIMS} REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION bookings_claims_inserted()",
        f"CREATE TRIGGER {CLAIMS}_deleted_version AFTER DELETE ON {CLAIMS} REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION bookings_claims_deleted()",
        f"CREATE TRIGGER {CLAIMS}_updated_version AFTER UPDATE ON {CLAIMS} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION bookings_claims_updated()",
    ]
    # A counter moved to another location (the admin does not let it): its lasting claims' days change
    # version at both.
    day = POSTGRESQL_DAY.format("unit_start")
    statements.append(f"""
CREATE FUNCTION bookings_counter_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bookings_new_claims_versions(array_agg(moved.location_id), array_agg({day}))
    FROM {CLAIMS} CROSS JOIN (VALUES (OLD.location_id), (NEW.location_id)) AS moved (location_id)
    WHERE counter_id = NEW.id AND expires_at IS NULL;
    RETURN NULL;
END $$""")
    statements.append(
        f"CREATE TRIGGER {COUNTERS}_moved_claims_version AFTER UPDATE OF location_id ON {COUNTERS} "
        "FOR EACH ROW WHEN (OLD.location_id IS DISTINCT FROM NEW.location_id) EXECUTE FUNCTION bookings_counter_moved()"
    )
    return statements


def _sqlite_new_version(row: str) -> str:
    """The statements of an SQLite row trigger: a new version of the (location, day) of the claim `row`, when it
    is a lasting one: the day's one row replaced (SQLite has one writer at a time)."""
    day = SQLITE_DAY.format(f"{row}.unit_start")
    location = f"(SELECT location_id FROM {COUNTERS} WHERE id = {row}.counter_id)"
    return (
        f"DELETE FROM {VERSIONS} WHERE {row}.expires_at IS NULL AND location_id = {location} AND day = {day}; "
        f"INSERT INTO {VERSIONS} (location_id, day, version) SELECT location_id, {day}, {SQLITE_RANDOM} "
        f"FROM {COUNTERS} WHERE id = {row}.counter_id AND {row}.expires_at IS NULL;"
    )


def _sqlite() -> list[str]:
    statements = [
        f"CREATE TRIGGER {CLAIMS}_{operation.lower()}_version AFTER {operation} ON {CLAIMS} "
        f"FOR EACH ROW BEGIN {' '.join(_sqlite_new_version(row) for row in rows)} END"
        for operation, rows in (("INSERT", ["NEW"]), ("UPDATE", ["OLD", "NEW"]), ("DELETE", ["OLD"]))
    ]
    day = SQLITE_DAY.format("unit_start")
    moved = " ".join(
        f"DELETE FROM {VERSIONS} WHERE location_id = {row}.location_id AND day IN "
        f"(SELECT {day} FROM {CLAIMS} WHERE counter_id = NEW.id AND expires_at IS NULL); "
        f"INSERT INTO {VERSIONS} (location_id, day, version) SELECT {row}.location_id, day, {SQLITE_RANDOM} FROM "
        f"(SELECT DISTINCT {day} AS day FROM {CLAIMS} WHERE counter_id = NEW.id AND expires_at IS NULL);"
        for row in ("OLD", "NEW")
    )
    statements.append(
        f"CREATE TRIGGER {COUNTERS}_moved_claims_version AFTER UPDATE OF location_id ON {COUNTERS} "
        f"FOR EACH ROW WHEN OLD.location_id IS NOT NEW.location_id BEGIN {moved} END"
    )
    return statements


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _postgresql, "sqlite": _sqlite}.get(vendor)
    if statements is None:
        raise RuntimeError(f"No claims-version triggers for {vendor}.")
    for statement in statements():
        schema_editor.execute(statement)
    # The days that have lasting claims already.
    day, random = (POSTGRESQL_DAY, POSTGRESQL_RANDOM) if vendor == "postgresql" else (SQLITE_DAY, SQLITE_RANDOM)
    schema_editor.execute(
        f"INSERT INTO {VERSIONS} (location_id, day, version) SELECT location_id, day, {random} FROM ("
        f"SELECT DISTINCT counter.location_id AS location_id, {day.format('claim.unit_start')} AS day"
        f" FROM {CLAIMS} AS claim INNER JOIN {COUNTERS} AS counter ON (counter.id = claim.counter_id)"
        " WHERE claim.expires_at IS NULL) AS existing"
    )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statements = [
            *(f"DROP TRIGGER IF EXISTS {CLAIMS}_{name}_version ON {CLAIMS}" for name in ("inserted", "deleted", "updated")),
            f"DROP TRIGGER IF EXISTS {COUNTERS}_moved_claims_version ON {COUNTERS}",
            *(f"DROP FUNCTION IF EXISTS bookings_claims_{name}()" for name in ("inserted", "deleted", "updated")),
            "DROP FUNCTION IF EXISTS bookings_counter_moved()",
            "DROP FUNCTION IF EXISTS bookings_new_claims_versions(bigint[], integer[])",
        ]
    else:
        statements = [
            *(f"DROP TRIGGER IF EXISTS {CLAIMS}_{operation}_version" for operation in ("insert", "update", "delete")),
            f"DROP TRIGGER IF EXISTS {COUNTERS}_moved_claims_version",
        ]
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0016_configuration_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClaimsVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("location_id", models.BigIntegerField()),
                ("day", models.IntegerField()),
                ("version", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "claims version",
                "verbose_name_plural": "claims versions",
            },
        ),
        migrations.AddIndex(
            model_name="slotclaim",
            index=models.Index(
                condition=models.Q(("expires_at__isnull", False)), fields=["unit_start"], name="claim_hold_unit_start"
            ),
        ),
        migrations.AddIndex(
            model_name="claimsversion",
            index=models.Index(fields=["location_id", "day"], name="claims_version_location_day"),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
