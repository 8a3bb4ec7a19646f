"""The booking invariant's safety net in PostgreSQL itself (DESIGN.md §4; docs/locking.md, "Safety net").

1. An exclusion constraint: no two claims on a counter overlap in real time, whatever grid each was made on
   (the unique constraint on (counter, unit_start) compares unit starts only). Needs btree_gist for the
   equality on counter_id inside a GiST index; btree_gist is a trusted extension (PostgreSQL 13+), so the
   database's owner can create it.
2. A deferred constraint trigger: at every commit, each booked or checked-in appointment owns exactly its
   `claimed_units` claims. A transaction that would leave one booked with claims missing (another booking
   took them) fails at COMMIT with an IntegrityError instead of committing a double booking.

SQLite (the embedded default) has neither: there one transaction writes at a time, and the actions keep the
invariant on their own.
"""

from django.db import migrations

FORWARD = r"""
CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE bookings_slotclaim
    ADD CONSTRAINT claim_no_overlap_in_real_time
    EXCLUDE USING gist (counter_id WITH =, tstzrange(unit_start, unit_end) WITH &&);

CREATE FUNCTION bookings_check_claimed_units() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    checked_id bigint;
    appointment record;
    owned integer;
BEGIN
    IF TG_TABLE_NAME = 'bookings_slotclaim' THEN
        checked_id := OLD.appointment_id;
    ELSE
        checked_id := NEW.id;
    END IF;
    IF checked_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT a.status, a.claimed_units INTO appointment FROM bookings_appointment a WHERE a.id = checked_id;
    IF FOUND AND appointment.status IN ('booked', 'checked_in') THEN
        SELECT count(*) INTO owned FROM bookings_slotclaim c WHERE c.appointment_id = checked_id;
        IF owned <> appointment.claimed_units THEN
            RAISE EXCEPTION 'appointment % is % but owns % of its % claims',
                checked_id, appointment.status, owned, appointment.claimed_units
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER claims_of_booked_appointment_stay
    AFTER UPDATE OR DELETE ON bookings_slotclaim
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bookings_check_claimed_units();

CREATE CONSTRAINT TRIGGER booked_appointment_owns_its_claims
    AFTER INSERT OR UPDATE OF status, claimed_units, start, "end" ON bookings_appointment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bookings_check_claimed_units();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS booked_appointment_owns_its_claims ON bookings_appointment;
DROP TRIGGER IF EXISTS claims_of_booked_appointment_stay ON bookings_slotclaim;
DROP FUNCTION IF EXISTS bookings_check_claimed_units();
ALTER TABLE bookings_slotclaim DROP CONSTRAINT IF EXISTS claim_no_overlap_in_real_time;
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)  # no parameters: the function's RAISE uses % placeholders of its own


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0005_configuration_audit_and_claim_ends")]

    operations = [migrations.RunPython(forward, backward)]
