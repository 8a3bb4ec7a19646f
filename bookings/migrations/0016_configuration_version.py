"""A version of each location's configuration, drawn anew by database triggers on every change of the rows the
booking engine reads as its configuration (bookings.models.ConfigurationVersion; docs/locking.md §2)."""

from django.db import migrations, models

VERSIONS = "bookings_configurationversion"
# The tables with a location_id (NULL on a closure of every location), and the counters' services.
AT_LOCATION = ("bookings_counter", "bookings_openinghours", "bookings_closure", "bookings_locationservice")
COUNTER_SERVICES = "bookings_counter_services"

POSTGRESQL_RANDOM = "floor(random() * 9e18)::bigint"
SQLITE_RANDOM = "abs(random() % 4611686018427387904)"


def _postgresql() -> list[str]:
    new = f"""
CREATE FUNCTION bookings_new_configuration(location bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO {VERSIONS} (location_id, version)
    SELECT id, {POSTGRESQL_RANDOM} FROM bookings_location WHERE location IS NULL
    UNION ALL SELECT location, {POSTGRESQL_RANDOM} WHERE location IS NOT NULL
    ON CONFLICT (location_id) DO UPDATE SET version = EXCLUDED.version
$$"""
    at_location = """
CREATE FUNCTION bookings_configuration_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN PERFORM bookings_new_configuration(OLD.location_id); END IF;
    IF TG_OP <> 'DELETE' THEN PERFORM bookings_new_configuration(NEW.location_id); END IF;
    RETURN NULL;
END $$"""
    counter_services = """
CREATE FUNCTION bookings_counter_services_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM bookings_new_configuration(location_id) FROM bookings_counter WHERE id = OLD.counter_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM bookings_new_configuration(location_id) FROM bookings_counter WHERE id = NEW.counter_id;
    END IF;
    RETURN NULL;
END $$"""
    triggers = [
        f"CREATE TRIGGER {table}_configuration AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION bookings_configuration_changed()"
        for table in AT_LOCATION
    ]
    triggers.append(
        f"CREATE TRIGGER {COUNTER_SERVICES}_configuration AFTER INSERT OR UPDATE OR DELETE ON {COUNTER_SERVICES} "
        f"FOR EACH ROW EXECUTE FUNCTION bookings_counter_services_changed()"
    )
    return [new, at_location, counter_services, *triggers]


def _sqlite_upsert(location: str, source: str = "") -> str:
    """One statement of an SQLite trigger: a new version of `location` (an expression; NULL: every location)."""
    if source:  # the location is read from `source` (the counter of a counter's service)
        return (
            f"INSERT INTO {VERSIONS} (location_id, version) SELECT {location}, {SQLITE_RANDOM} {source} "
            "ON CONFLICT (location_id) DO UPDATE SET version = excluded.version;"
        )
    return (
        f"INSERT INTO {VERSIONS} (location_id, version) "
        f"SELECT id, {SQLITE_RANDOM} FROM bookings_location WHERE {location} IS NULL "
        f"UNION ALL SELECT {location}, {SQLITE_RANDOM} WHERE {location} IS NOT NULL "
        "ON CONFLICT (location_id) DO UPDATE SET version = excluded.version;"
    )


def _sqlite() -> list[str]:
    statements = []
    for operation, rows in (("INSERT", ["NEW"]), ("UPDATE", ["OLD", "NEW"]), ("DELETE", ["OLD"])):
        for table in AT_LOCATION:
            body = " ".join(_sqlite_upsert(f"{row}.location_id") for row in rows)
            statements.append(
                f"CREATE TRIGGER {table}_configuration_{operation.lower()} AFTER {operation} ON {table} "
                f"FOR EACH ROW BEGIN {body} END"
            )
        body = " ".join(
            _sqlite_upsert("location_id", f"FROM bookings_counter WHERE id = {row}.counter_id") for row in rows
        )
        statements.append(
            f"CREATE TRIGGER {COUNTER_SERVICES}_configuration_{operation.lower()} AFTER {operation} "
            f"ON {COUNTER_SERVICES} FOR EACH ROW BEGIN {body} END"
        )
    return statements


def _drop_postgresql() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {table}_configuration ON {table}" for table in (*AT_LOCATION, COUNTER_SERVICES)),
        "DROP FUNCTION IF EXISTS bookings_counter_services_changed()",
        "DROP FUNCTION IF EXISTS bookings_configuration_changed()",
        "DROP FUNCTION IF EXISTS bookings_new_configuration(bigint)",
    ]


def _drop_sqlite() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_configuration_{operation}"
        for table in (*AT_LOCATION, COUNTER_SERVICES)
        for operation in ("insert", "update", "delete")
    ]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _postgresql, "sqlite": _sqlite}.get(vendor)
    if statements is None:
        raise RuntimeError(f"No configuration-version triggers for {vendor}.")
    for statement in statements():
        schema_editor.execute(statement)
    random = POSTGRESQL_RANDOM if vendor == "postgresql" else SQLITE_RANDOM
    schema_editor.execute(f"INSERT INTO {VERSIONS} (location_id, version) SELECT id, {random} FROM bookings_location")


def drop_triggers(apps, schema_editor):
    statements = _drop_postgresql if schema_editor.connection.vendor == "postgresql" else _drop_sqlite
    for statement in statements():
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0015_part_events"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConfigurationVersion",
            fields=[
                ("location_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("version", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "configuration version",
                "verbose_name_plural": "configuration versions",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
