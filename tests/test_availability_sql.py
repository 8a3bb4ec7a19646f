"""The snapshot's plain SQL (bookings/availability_sql.py) reads exactly the rows of the ORM queries it
replaced: counters with their offered services, opening hours valid in a range, closures (the location's
and every location's), and live claims (held, expired, of an ignored appointment, of another desk)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.test.utils import CaptureQueriesContext

from bookings import availability_sql
from bookings.availability_units import TakenUnits, _epoch_seconds
from bookings.models import (
    Appointment,
    AppointmentStatus,
    Closure,
    ConfigurationVersion,
    Counter,
    Location,
    LocationService,
    SlotClaim,
)
from services.models import Service
from tests.support.factories import (
    AppointmentFactory,
    CounterFactory,
    LocationFactory,
    OpeningHoursFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def desks():
    one, two = ServiceFactory(), ServiceFactory()
    here, there = LocationFactory(), LocationFactory()
    CounterFactory(location=here, services=[one, two])
    CounterFactory(location=here, services=[one], is_active=False)
    not_offered = CounterFactory(location=here, services=[two])
    LocationService.objects.filter(location=here, service=two).delete()
    CounterFactory(location=there, services=[one])
    for location in (here, there):
        OpeningHoursFactory(location=location, weekday=1)
        OpeningHoursFactory(location=location, weekday=2, start_time=time(8, 7), end_time=time(11, 0))
        OpeningHoursFactory(location=location, weekday=3, valid_until=date(2026, 11, 30))
        OpeningHoursFactory(location=location, weekday=3, valid_from=date(2026, 12, 1), valid_until=date(2026, 12, 9))
        OpeningHoursFactory(location=location, weekday=4, valid_from=date(2027, 1, 5))
    Closure.objects.create(location=here, start_date=date(2026, 12, 3), end_date=date(2026, 12, 4), reason="Move")
    Closure.objects.create(location=here, start_date=date(2026, 11, 1), end_date=date(2026, 11, 30), reason="Past")
    Closure.objects.create(location=None, start_date=date(2026, 12, 24), end_date=date(2026, 12, 24), reason="All")
    Closure.objects.create(location=there, start_date=date(2026, 12, 2), end_date=date(2026, 12, 2), reason="There")
    return here, there, one, not_offered


def test_the_configuration_versions_are_the_orm_rows(desks):
    here, there, _one, _not_offered = desks
    for ids in ([here.pk], [here.pk, there.pk], [here.pk, 10**9]):
        assert availability_sql.configuration_versions(ids) == dict(
            ConfigurationVersion.objects.filter(location_id__in=ids).values_list("location_id", "version")
        )
    assert len(availability_sql.configuration_versions([here.pk, there.pk])) == 2


def test_the_claim_rows_are_the_live_claims(desks):
    here, there, one, _not_offered = desks
    counters = list(Counter.objects.filter(location=here)) + list(Counter.objects.filter(location=there))
    grid = timedelta(minutes=15)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    ignored = None
    for index, (counter, expires) in enumerate(
        (counter, expires)
        for counter in counters
        for expires in (None, NOW + timedelta(minutes=5), NOW - timedelta(minutes=1), NOW)
    ):
        unit = start + grid * index
        appointment = AppointmentFactory(
            service=one,
            location=counter.location,
            start=unit,
            status=AppointmentStatus.HELD if expires else AppointmentStatus.BOOKED,
            claimed_units=1,
            created_at=NOW,
        )
        SlotClaim.objects.create(
            appointment=appointment, counter=counter, unit_start=unit, unit_end=unit + grid, expires_at=expires
        )
        ignored = ignored or appointment.pk
    begin, finish = start + grid, start + grid * 40
    for counter_ids, location_id, ignore in (
        (None, here.pk, None),
        (None, here.pk, ignored + 1),
        ([c.pk for c in counters], None, None),
        ([counters[0].pk], None, ignored),
    ):
        claims = SlotClaim.objects.filter(unit_start__gte=begin, unit_start__lt=finish).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=NOW)
        )
        claims = (
            claims.filter(counter__location_id=location_id)
            if counter_ids is None
            else claims.filter(counter_id__in=counter_ids)
        )
        if ignore is not None:
            claims = claims.exclude(appointment_id=ignore)
        expected = sorted((claim.counter_id, _epoch_seconds(claim.unit_start)) for claim in claims)
        found = availability_sql.claim_rows(
            range_start=begin,
            range_end=finish,
            now=NOW,
            counter_ids=counter_ids,
            location_id=location_id,
            ignore_appointment_id=ignore,
        )
        assert sorted(found) == expected
        assert expected  # the case reads something
        if location_id is not None:  # the same rows read with the location's configuration version
            for with_lapsed in (False, True):
                version, rows = availability_sql.version_and_claim_rows(
                    location_id=location_id,
                    range_start=begin,
                    range_end=finish,
                    now=NOW,
                    ignore_appointment_id=ignore,
                    with_lapsed=with_lapsed,
                )
                assert version == ConfigurationVersion.objects.get(location_id=location_id).version
                assert sorted(rows) == sorted(
                    availability_sql.claim_rows(
                        range_start=begin,
                        range_end=finish,
                        now=NOW,
                        location_id=location_id,
                        ignore_appointment_id=ignore,
                        with_lapsed=with_lapsed,
                    )
                )


def test_a_location_without_a_configuration_version_reads_none_with_its_claims(db):
    location = LocationFactory()
    ConfigurationVersion.objects.filter(location_id=location.pk).delete()
    assert availability_sql.version_and_claim_rows(
        location_id=location.pk, range_start=NOW, range_end=NOW + timedelta(days=1), now=NOW
    ) == (None, [])


def test_first_of_is_the_orms_first(db):
    active, inactive = LocationFactory(), LocationFactory(is_active=False)
    service = ServiceFactory()
    for model, equal in (
        (Location, {"short_code": active.short_code, "is_active": True}),
        (Location, {"short_code": inactive.short_code, "is_active": True}),
        (Location, {"short_code": inactive.short_code, "is_active": False}),
        (Location, {"short_code": "NOPE", "is_active": True}),
        (Service, {"code": service.code}),
        (Service, {"code": "no-such-service"}),
    ):
        found = availability_sql.first_of(model, **equal)
        expected = model._default_manager.filter(**equal).first()
        assert found == expected, (model, equal)
        if found is not None:
            assert [getattr(found, f.attname) for f in model._meta.concrete_fields] == [
                getattr(expected, f.attname) for f in model._meta.concrete_fields
            ]
            assert not found._state.adding


def test_first_of_each_is_each_first_of_in_one_query(db, django_assert_num_queries):
    active, inactive = LocationFactory(), LocationFactory(is_active=False)
    service = ServiceFactory(is_active=False)
    locations = [
        {"short_code": active.short_code, "is_active": True},
        {"short_code": inactive.short_code, "is_active": True},
    ]
    services = [{"code": service.code}, {"code": "no-such-service"}]
    seen = []
    for location in locations:
        for wanted in services:
            with django_assert_num_queries(1):
                found = availability_sql.first_of_each((Location, location), (Service, wanted))
            seen += found
            expected = [availability_sql.first_of(Location, **location), availability_sql.first_of(Service, **wanted)]
            assert found == expected, (location, wanted)
            for one, other in zip(found, expected, strict=True):
                if one is not None:
                    fields = type(one)._meta.concrete_fields
                    assert [getattr(one, f.attname) for f in fields] == [getattr(other, f.attname) for f in fields]
    assert any(seen) and not all(seen)  # the cases find some and miss some


def test_the_row_lock_reads_what_the_orm_reads(db, desks):
    here, _there, one, _not_offered = desks
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    appointment = AppointmentFactory(
        service=one,
        location=here,
        start=start,
        persons=2,
        hold_expires_at=NOW,
        claimed_units=2,
        created_at=NOW,
        interpreter_language="pl",
    )
    expected = (
        Appointment.objects.select_related("service", "location")
        .annotate(
            configuration_version=Subquery(
                ConfigurationVersion.objects.filter(location_id=OuterRef("location_id")).values("version")[:1]
            )
        )
        .get(pk=appointment.pk)
    )
    with transaction.atomic(), CaptureQueriesContext(connection) as locking:
        found = availability_sql.appointment_for_update(appointment.pk)
    assert len(locking.captured_queries) == 1
    if connection.vendor == "postgresql":
        assert locking.captured_queries[0]["sql"].endswith('FOR UPDATE OF "bookings_appointment"')
    for one_of, other in ((found, expected), (found.service, expected.service), (found.location, expected.location)):
        fields = type(one_of)._meta.concrete_fields
        assert [getattr(one_of, f.attname) for f in fields] == [getattr(other, f.attname) for f in fields]
    assert found.configuration_version == expected.configuration_version is not None
    assert availability_sql.appointment_for_update(10**9) is None


def test_the_claim_words_are_the_bits_of_the_claim_rows(desks):
    """claim_words sums the live claims into 64-bit words in the database: the TakenUnits made of them are
    those of the plain rows, bit 63 of a word (negative in SQL) and a claim off the grid included."""
    here, there, one, _not_offered = desks
    counters = list(Counter.objects.filter(location=here))
    grid = timedelta(minutes=5)
    base = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    ignored = None
    cases = [
        (0, 0, None), (0, 1, None), (0, 63, None), (0, 64, None), (0, 127, NOW + timedelta(minutes=5)),
        (0, 128, NOW - timedelta(minutes=1)), (1, 63, None), (1, 2000, None), (2, 5, None),
    ]  # fmt: skip
    for number, (counter, unit, expires) in enumerate(cases):
        start = base + grid * unit
        appointment = AppointmentFactory(
            service=one, location=here, start=start, claimed_units=1, created_at=NOW,
            status=AppointmentStatus.HELD if expires else AppointmentStatus.BOOKED,
        )  # fmt: skip
        SlotClaim.objects.create(
            appointment=appointment, counter=counters[counter], unit_start=start, unit_end=start + grid,
            expires_at=expires,
        )  # fmt: skip
        if number == 3:
            ignored = appointment.pk
    off_grid = base + grid * 300 + timedelta(minutes=2)  # a claim the grid does not start: kept as it is
    appointment = AppointmentFactory(service=one, location=here, start=off_grid, claimed_units=1, created_at=NOW)
    SlotClaim.objects.create(
        appointment=appointment, counter=counters[2], unit_start=off_grid, unit_end=off_grid + grid
    )
    step = int(grid.total_seconds())
    for counter_ids, location_id, ignore in (
        (None, here.pk, None),
        ([c.pk for c in counters], None, ignored),
        ([counters[0].pk], None, None),
    ):
        query = {
            "range_start": base,
            "range_end": base + timedelta(days=10),
            "now": NOW,
            "counter_ids": counter_ids,
            "location_id": location_id,
            "ignore_appointment_id": ignore,
        }
        words = availability_sql.claim_words(base=_epoch_seconds(base), step=step, **query)
        assert len(words) < len(availability_sql.claim_rows(**query))  # summed: fewer rows than claims
        from_words = TakenUnits.from_words(words, base=_epoch_seconds(base), step=step)
        from_rows = TakenUnits.from_rows(availability_sql.claim_rows(**query), base=_epoch_seconds(base), step=step)
        assert from_words.masks == from_rows.masks
        assert from_words.extra == from_rows.extra
        assert sorted(from_words) == sorted(from_rows)
    everything = TakenUnits.from_words(
        availability_sql.claim_words(
            base=_epoch_seconds(base), step=step, range_start=base, range_end=base + timedelta(days=10), now=NOW,
            location_id=here.pk,
        ),
        base=_epoch_seconds(base),
        step=step,
    )  # fmt: skip
    assert everything.masks[counters[0].pk] == (1 << 0) | (1 << 1) | (1 << 63) | (1 << 64) | (1 << 127)
    assert everything.masks[counters[1].pk] == (1 << 63) | (1 << 2000)
    assert everything.extra == {(counters[2].pk, _epoch_seconds(off_grid))}


def test_offer_of_is_the_orms_offer(desks):
    here, there, one, _not_offered = desks
    inactive = ServiceFactory(is_active=False)
    LocationService.objects.create(location=here, service=inactive)
    for location, equal in (
        (here, {"code": one.code}),
        (here, {"code": one.code, "is_active": True}),
        (here, {"code": inactive.code}),
        (here, {"code": inactive.code, "is_active": True}),  # not active: none
        (there, {"code": inactive.code}),  # not offered there
        (here, {"code": "no-such-service"}),
    ):
        expected = (
            LocationService.objects.select_related("service")
            .filter(location=location, **{f"service__{name}": value for name, value in equal.items()})
            .first()
        )
        found = availability_sql.offer_of(location_id=location.pk, **equal)
        if expected is None:
            assert found is None
        else:
            assert (found.pk, found.location_id, found.service_id) == (expected.pk, location.pk, expected.service_id)
            assert [getattr(found, f.attname) for f in LocationService._meta.concrete_fields] == [
                getattr(expected, f.attname) for f in LocationService._meta.concrete_fields
            ]
            assert [getattr(found.service, f.attname) for f in Service._meta.concrete_fields] == [
                getattr(expected.service, f.attname) for f in Service._meta.concrete_fields
            ]


def test_the_reads_of_claims_are_planned_for_their_range(desks, postgresql):
    """The connection prepares a statement it has run often, and PostgreSQL then plans it once for any values
    (settings: DATABASE_PREPARE_THRESHOLD). That generic plan of six weeks of claims walked every counter's
    claims of the range (9 ms for 5,000 claims, against 4 ms planned for the values: README, Performance), so
    the reads of claims go with their values in their text; the rest keeps its parameters. Run as often as
    a web process runs them, each is prepared: the claims' without a parameter, the versions' with one."""
    here, _there, _one, _not_offered = desks
    counters = list(Counter.objects.filter(location=here).values_list("pk", flat=True))
    day, weeks = NOW + timedelta(days=1), NOW + timedelta(days=42)
    reads = {
        "bit_or": lambda: availability_sql.claim_words(
            base=0, step=300, range_start=NOW, range_end=weeks, now=NOW, counter_ids=counters
        ),
        "AS epoch, (": lambda: availability_sql.claim_rows(
            range_start=NOW, range_end=day, now=NOW, counter_ids=counters, with_lapsed=True
        ),
        "UNION ALL": lambda: availability_sql.version_and_claim_rows(
            location_id=here.pk, range_start=NOW, range_end=day, now=NOW
        ),
        '"bookings_configurationversion"."location_id" IN': lambda: availability_sql.configuration_versions([here.pk]),
    }
    for read in reads.values():
        for _time in range(connection.settings_dict["OPTIONS"]["prepare_threshold"] + 1):
            read()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    found = {mark: [text for text in prepared if mark in text] for mark in reads}
    assert all(found.values()), found
    assert all("$1" not in text for mark in list(reads)[:3] for text in found[mark]), found
    assert all("$1" in text for text in found['"bookings_configurationversion"."location_id" IN']), found
