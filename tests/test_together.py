"""Several writes in one statement (bookings/actions/together.py, issue 10): on PostgreSQL a hold's appointment,
its claim and its audit row, and a booking's names, UPDATE, audit row, outbox row and fair-share count, are one
statement each. They write exactly the rows the ORM writes one by one (its other branch, SQLite's), and the
fair shares count the booking once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db.models import signals
from django.forms.models import model_to_dict

from bookings import actions
from bookings.actions import BookingError, PersonName, together
from bookings.fairness import owner_share
from bookings.models import Appointment, AppointmentEvent, OutboxEmail, Person, SlotClaim
from tests.support.factories import AppointmentFactory, ServiceFactory, make_desk

# What differs between two equal bookings made one after the other: their keys, drawn references and tokens.
DRAWN = {"id", "appointment", "reference", "manage_token_hash"}


def test_no_signal_receiver_is_skipped():
    """together.py sends no pre_save or post_save signal: nothing may listen for them on what it writes."""
    for model in (Appointment, SlotClaim, AppointmentEvent, Person, OutboxEmail):
        assert not signals.pre_save.has_listeners(model), model
        assert not signals.post_save.has_listeners(model), model


def rows_of(appointment: Appointment) -> dict[str, object]:
    """Everything written for `appointment`, without what is drawn afresh for each."""

    def fields(instance) -> dict[str, object]:
        values = model_to_dict(instance)
        values.update({f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields})
        return {name: value for name, value in values.items() if name not in DRAWN and name != "appointment_id"}

    fresh = Appointment.objects.get(pk=appointment.pk)
    return {
        "appointment": fields(fresh),
        "claims": sorted(
            (c.counter_id, c.unit_start, c.unit_end, c.expires_at) for c in SlotClaim.objects.filter(appointment=fresh)
        ),
        "events": [fields(e) for e in AppointmentEvent.objects.filter(appointment=fresh).order_by("id")],
        "people": [fields(p) for p in Person.objects.filter(appointment=fresh).order_by("position")],
        "outbox": [fields(o) for o in OutboxEmail.objects.filter(appointment=fresh).order_by("id")],
    }


CASES = {
    "one person": {"persons": 1},
    "a family with extra time and needs": {
        "persons": 3,
        "extra_units": 1,
        "needs": {"needs_wheelchair": True, "interpreter_language": "pl"},
    },
    "an employer's booking": {"persons": 2, "employer": True},
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_writes_together_equal_the_orm_writes(postgresql, db, monkeypatch, case, monday_morning):
    service = ServiceFactory(duration_minutes=15, max_persons=6)
    made = {}
    for way in ("orm", "together"):
        desk = make_desk(services=[service], counters=6)
        monkeypatch.setattr(together, "available", lambda way=way: way == "together")
        share = owner_share(owner="employer:7", day_minutes=600, horizon_minutes=6000) if case.get("employer") else None
        held = actions.hold_slot(
            location=desk,
            service=service,
            start=datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo),
            persons=case["persons"],
            now=monday_morning,
            client_key="client-key",
            extra_units=case.get("extra_units", 0),
            share=share,
        )
        hold_rows = rows_of(held)
        result = actions.confirm_hold(
            appointment=held,
            names=[PersonName(f" Person {n}", "Jansen ") for n in range(case["persons"])],
            contact_email="jane@example.org",
            phone="+31 6 1234 5678",
            language="nl",
            now=monday_morning + timedelta(minutes=3),
            share=share,
            **case.get("needs", {}),
        )
        assert result.appointment.pk == held.pk
        booked_rows = rows_of(held)
        for rows in (hold_rows, booked_rows):  # each way on its own desk: compare the counters by their place
            counters = {pk: index for index, pk in enumerate(desk.counters.order_by("pk").values_list("pk", flat=True))}
            rows["claims"] = [(counters[c], *rest) for c, *rest in rows["claims"]]
            rows["appointment"]["location"] = rows["appointment"]["location_id"] = None
        made[way] = (hold_rows, booked_rows)
    assert made["together"] == made["orm"]
    held_rows, booked_rows = made["together"]
    assert len(held_rows["claims"]) == case["persons"] * (1 + case.get("extra_units", 0))
    assert [e["kind"] for e in booked_rows["events"]] == ["held", "booked"]
    assert [p["first_name"] for p in booked_rows["people"]] == [f"Person {n}" for n in range(case["persons"])]
    assert len(booked_rows["outbox"]) == 1


@pytest.mark.parametrize("way", ["orm", "together"])
def test_a_booking_is_counted_once_against_its_shares(postgresql, db, settings, monkeypatch, way, monday_morning):
    """The count in the booking's own statement cannot see its UPDATE: it leaves the appointment out and adds its
    minutes. A booking that fills the mailbox's share exactly goes through; one more minute is refused, and the
    refusal leaves the hold as it was."""
    settings.EXPATDESK_FAIR_SHARE_DAY_MINUTES = settings.EXPATDESK_FAIR_SHARE_HORIZON_MINUTES = 60
    monkeypatch.setattr(together, "available", lambda: way == "together")
    service = ServiceFactory(duration_minutes=15, max_persons=6)
    desk = make_desk(services=[service], counters=6)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)

    def hold_and_book(persons: int, client_key: str):
        held = actions.hold_slot(
            location=desk, service=service, start=start, persons=persons, now=monday_morning, client_key=client_key
        )
        names = [PersonName(f"P{n}", "Jansen") for n in range(persons)]
        return held, lambda: actions.confirm_hold(
            appointment=held, names=names, contact_email="jane@example.org", now=monday_morning
        )

    _first, book_first = hold_and_book(4, "address-1")  # 60 minutes: the whole share of the address and mailbox
    assert book_first().appointment.status == "booked"
    second, book_second = hold_and_book(1, "address-2")  # another address, the same mailbox: 15 minutes too many
    with pytest.raises(BookingError) as refused:
        book_second()
    assert refused.value.code == BookingError.FAIR_SHARE_EXCEEDED
    second.refresh_from_db()
    assert second.status == "held" and not second.contact_email
    assert not Person.objects.filter(appointment=second).exists()
    assert not OutboxEmail.objects.filter(appointment=second).exists()
    assert list(AppointmentEvent.objects.filter(appointment=second).values_list("kind", flat=True)) == ["held"]


def test_a_hold_whose_one_unit_is_taken_in_its_statement_claims_afresh(postgresql, db, monkeypatch, monday_morning):
    """The one unit goes in with the appointment, ON CONFLICT DO NOTHING: taken since the snapshot, the statement
    leaves the appointment and its audit row in and the hold claims another counter from a fresh snapshot."""
    service = ServiceFactory(duration_minutes=15)
    desk = make_desk(services=[service], counters=2)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    counters = set(desk.counters.values_list("pk", flat=True))
    original = together.run
    taken = []

    def taken_first(writes, **kwargs):  # another booking takes the allocated unit just before the statement
        if "claim" in writes and not taken:
            taken.append(next(value for value in writes["claim"].params if value in counters))
            other = AppointmentFactory(service=service, location=desk, start=start, status="booked", claimed_units=1)
            SlotClaim.objects.create(
                appointment=other, counter_id=taken[0], unit_start=start, unit_end=start + timedelta(minutes=15)
            )
        return original(writes, **kwargs)

    monkeypatch.setattr(together, "run", taken_first)
    held = actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)
    claims = list(SlotClaim.objects.filter(appointment=held).values_list("counter_id", flat=True))
    assert len(claims) == 1 and claims[0] != taken[0]
    assert Appointment.objects.get(pk=held.pk).claimed_units == 1
    assert list(AppointmentEvent.objects.filter(appointment=held).values_list("kind", flat=True)) == ["held"]


def test_a_kept_insert_text_gives_what_the_compiler_gives(postgresql, db, monday_morning):
    """together.insert compiles a one-object INSERT's text once per shape and makes the parameters itself: the
    same text and parameters as Django's compiler for every object, shape by shape (the first call of each
    compiles it, the second uses the kept text)."""
    service = ServiceFactory(duration_minutes=15)
    desk = make_desk(services=[service], counters=1)
    counter = desk.counters.get()
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)

    def appointment(number: int, **more) -> Appointment:
        return Appointment(
            reference=f"TEST-{number}",
            service=service,
            location=desk,
            start=start,
            end=start + timedelta(minutes=15 * number),
            persons=number,
            status="held",
            created_at=monday_morning,
            **more,
        )

    made = [
        ([appointment(1)], {"returning": ["id", "part_count"]}),
        (
            [appointment(2, hold_expires_at=monday_morning, needs_wheelchair=True, client_key="k")],
            {"returning": ["id", "part_count"]},
        ),
        ([AppointmentEvent(appointment_id=together.from_part("held"), kind="held", at=monday_morning)], {}),
        ([AppointmentEvent(appointment_id=together.from_part("held"), kind="booked", at=start, detail="x")], {}),
        (
            [
                SlotClaim(
                    appointment_id=together.from_part("held"),
                    counter=counter,
                    unit_start=start,
                    unit_end=start + timedelta(minutes=15),
                )
            ],
            {"returning": ["id"], "on_conflict_ignore": True},
        ),
        (
            [OutboxEmail(appointment_id=1, kind="confirmation", revision=0, created_at=monday_morning)],
            {"returning": ["id"]},
        ),
        ([OutboxEmail(appointment_id=2, kind="reminder", revision=3, created_at=start)], {"returning": ["id"]}),
    ]
    together._compiled.clear()
    for objs, options in made + made:
        kept = together.insert(objs, **options)
        fresh = together.compiled_insert(
            objs,
            returned=kept.returning,
            on_conflict_ignore=options.get("on_conflict_ignore", False),
        )
        assert (kept.sql, kept.params) == (fresh.sql, fresh.params)
    assert len(together._compiled) == 4  # one shape each: the appointments, the events, the claim, the outbox rows
