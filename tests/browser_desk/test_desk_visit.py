"""A family's visit of several parts on the desk in Chromium (issue 13, point 4): one group on the agenda, one
check-in, each part started and finished from the agenda, the counter page's next part; axe-core finds no WCAG
2.1 A/AA violation on the agenda with a visit, in English and Dutch, nor on the counter page."""

from datetime import datetime

import pytest
from django.core.cache import cache

from bookings.actions.visits import book_visit
from bookings.models import AppointmentStatus
from desk import clock
from tests.support.browser import assert_accessible, signed_in_context
from tests.support.desk import desk_staff
from tests.support.env import AMSTERDAM
from tests.support.visits import family_desk, family_names

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def visit_morning(live_server, monday_morning, monkeypatch):
    cache.clear()
    now = {"at": at(8, 55)}
    monkeypatch.setattr(clock, "now", lambda: now["at"])  # the live server runs in this process
    family = family_desk()
    visit = book_visit(
        location=family.location,
        parts=family.family(),
        start=at(9),
        names=family_names(),
        contact_email="jansen@example.org",
        now=monday_morning,
    ).appointment
    return {"server": live_server, "family": family, "visit": visit, "now": now, "staff": desk_staff("marieke")}


def test_a_visit_of_two_parts_on_the_agenda(visit_morning, new_context):
    server, family, visit = visit_morning["server"], visit_morning["family"], visit_morning["visit"]
    page = signed_in_context(new_context, server, visit_morning["staff"], viewport=DESKTOP).new_page()
    agenda = f"{server.url}/desk/?location={family.location.pk}&day=2026-12-01"
    page.goto(agenda)
    page.get_by_role("list", name=f"Parts of visit {visit.reference}").wait_for()
    assert_accessible(page, where="agenda with a visit")

    page.get_by_role("button", name=f"Check in {visit.reference}").click()
    page.get_by_text(f"{visit.reference} is checked in.").wait_for()
    visit_morning["now"]["at"] = at(9)
    page.get_by_role("button", name=f"Start {visit.reference}, part 1").click()
    page.get_by_text(f"{visit.reference}: part 1 started.").wait_for()
    assert_accessible(page, where="agenda with a visit in progress")
    page.get_by_role("button", name=f"Done {visit.reference}, part 1").click()
    page.get_by_text(f"{visit.reference}: part 1 is done.").wait_for()
    visit_morning["now"]["at"] = at(9, 40)
    page.get_by_role("button", name=f"Done {visit.reference}, part 2").click()
    page.get_by_text(f"{visit.reference}: part 2 is done.").wait_for()
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.DONE

    dutch = signed_in_context(new_context, server, visit_morning["staff"], viewport=DESKTOP, locale="nl-NL").new_page()
    dutch.goto(agenda)
    dutch.get_by_role("list", name=f"Onderdelen van bezoek {visit.reference}").wait_for()
    assert "afgerond" in dutch.content()
    assert_accessible(dutch, where="agenda with a visit, in Dutch")


def test_the_counter_page_sends_a_visit_on_to_its_next_part(visit_morning, new_context):
    server, family, visit = visit_morning["server"], visit_morning["family"], visit_morning["visit"]
    from bookings import actions

    actions.check_in(appointment=visit, now=at(8, 55), actor=None)
    visit_morning["now"]["at"] = at(9)
    page = signed_in_context(new_context, server, visit_morning["staff"], viewport=DESKTOP).new_page()
    page.goto(f"{server.url}/desk/queue/counter/{family.others[0].pk}/")
    page.get_by_role("button", name="Call next").click()
    page.get_by_text("Part 1 of 2").first.wait_for()
    assert_accessible(page, where="counter page with a visit")
    visit_morning["now"]["at"] = at(9, 14)
    page.get_by_role("button", name="Part done: on to the next part").click()
    page.get_by_text("waits for the next part of the visit").wait_for()
    page.goto(f"{server.url}/desk/queue/counter/{family.both.pk}/")
    page.get_by_text("Part 2 of 2").first.wait_for()
