"""A booking made with the keyboard alone (Tab, Shift+Tab, arrows, Enter, Space and typing), 320 px wide."""

import pytest

from bookings.models import AppointmentStatus
from tests.support.browser import NARROW, assert_fits, assert_strong_focus
from tests.support.browser_flow import FREE_DAY, TIME, only_appointment

pytestmark = pytest.mark.browser


def is_focused(locator) -> bool:
    return locator.evaluate("element => element === document.activeElement")


def tab_to(page, locator, *, most: int = 80) -> None:
    """Press Tab until `locator` has the focus; fail if it never gets it (not reachable by keyboard)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if is_focused(locator):
            return
    raise AssertionError(f"{locator} never received the keyboard focus after {most} Tab presses")


def type_into(page, locator, text: str) -> None:
    tab_to(page, locator)
    page.keyboard.type(text)


def test_keyboard_only_booking(site, new_context):
    page = new_context(viewport=NARROW).new_page()
    page.goto(site.url + "/")
    assert_fits(page, where="the start page")

    # The first Tab reaches the skip link, and it moves the focus to the main content.
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_role("link", name="Skip to main content"))
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Biometrics (fingerprints, photo and signature)", exact=True)
    )
    tab_to(page, card.get_by_role("link", name="Book this"))
    page.keyboard.press("Enter")

    persons = page.get_by_label("How many persons is the appointment for?")
    tab_to(page, persons)
    assert_strong_focus(persons, where="the persons select")
    page.keyboard.press("ArrowDown")
    assert persons.input_value() == "2"
    tab_to(page, page.get_by_role("button", name="Show free days"))
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Choose a day").wait_for()
    assert_fits(page, where="the calendar")
    tab_to(page, page.get_by_role("link", name=FREE_DAY).first)
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Choose a time").wait_for()
    assert_fits(page, where="the times page")
    tab_to(page, page.get_by_role("button", name=TIME).first)
    page.keyboard.press("Space")

    page.get_by_role("heading", name="Your details", exact=True).wait_for()
    assert_fits(page, where="the details page")
    # An empty form sent by keyboard shows the errors beside the fields.
    tab_to(page, page.get_by_role("button", name="Book this appointment"))
    page.keyboard.press("Enter")
    page.get_by_text("Please check the fields marked below.").wait_for()
    assert only_appointment().status == AppointmentStatus.HELD

    for person, (first, last) in enumerate([("Mei", "Chen"), ("Wei", "Chen")], start=1):
        group = page.get_by_role("group", name=f"Person {person}")
        type_into(page, group.get_by_label("First name(s)"), first)
        type_into(page, group.get_by_label("Last name"), last)
    email = page.get_by_label("E-mail address")
    type_into(page, email, "mei.chen@example.com")
    # Text inputs, radios and checkboxes show the same strong focus outline as buttons (issue 11).
    assert_strong_focus(email, where="the e-mail field")
    english = page.get_by_role("radio", name="English")
    tab_to(page, page.get_by_role("radio", checked=True).or_(english).first)
    if not is_focused(english):
        page.keyboard.press("ArrowUp")
    assert_strong_focus(english, where="the language radio")
    page.keyboard.press("Space")
    consent = page.get_by_role("checkbox", name="privacy statement")
    tab_to(page, consent)
    assert_strong_focus(consent, where="the consent checkbox")
    page.keyboard.press("Space")
    assert english.is_checked() and consent.is_checked()
    tab_to(page, page.get_by_role("button", name="Book this appointment"))
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Your appointment is booked").wait_for()
    assert_fits(page, where="the confirmation page")
    appointment = only_appointment()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.persons == 2
    assert sorted((p.first_name, p.last_name) for p in appointment.people.all()) == [
        ("Mei", "Chen"),
        ("Wei", "Chen"),
    ]
