"""A newcomer picks a location on a phone and books there (issue 12); the new pages pass axe-core in English
and in Dutch."""

from datetime import time

import pytest

from bookings.models import Location
from services.models import Service
from tests.support.browser import NARROW, assert_accessible, assert_fits
from tests.support.browser_flow import choose_service, fill_details, first_free_day, first_free_time, only_appointment
from tests.support.factories import CounterFactory, LocationFactory, OpeningHoursFactory

pytestmark = pytest.mark.browser

EMAIL = "mei.lin@example.com"
BIOMETRICS = "Biometrics (fingerprints, photo and signature)"


@pytest.fixture
def two_sites(site):
    """The browser tests' desk (Maastricht, every service, Monday to Friday) and a second one in Eindhoven:
    biometrics and EU registration only, open every day 08:00-11:00, its own municipalities."""
    services = list(Service.objects.filter(code__in=["biometrics", "registration-eu"]))
    eindhoven = LocationFactory(
        name="Expat Centre Eindhoven",
        slug="eindhoven",
        short_code="EHV",
        street="Stadhuisplein 10",
        postcode="5611 EM",
        city="Eindhoven",
        municipalities="Eindhoven\nBest\nVeldhoven",
    )
    for number in (1, 2):
        CounterFactory(location=eindhoven, name=f"Counter {number}", services=services)
    for weekday in range(7):
        OpeningHoursFactory(location=eindhoven, weekday=weekday, start_time=time(8, 0), end_time=time(11, 0))
    return site


def test_a_newcomer_picks_a_location_on_a_phone_and_books_there(two_sites, new_context):
    page = new_context().new_page()
    page.goto(two_sites.url + "/")
    page.get_by_role("heading", name="Book an appointment: choose a location").wait_for()
    assert_accessible(page, where="the list of locations")
    assert_fits(page, where="the list of locations", width=page.viewport_size["width"])
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Expat Centre Eindhoven"))
    assert card.get_by_text("Next free day").is_visible()
    card.get_by_role("link", name="Book here").click()

    page.get_by_role("heading", name="Book an appointment at Expat Centre Eindhoven").wait_for()
    assert page.url.endswith("/eindhoven/")
    assert_accessible(page, where="Eindhoven's start page")
    assert page.get_by_role("heading", name="Information on Dutch immigration rules").count() == 0
    choose_service(page, name=BIOMETRICS)
    page.get_by_label("How many persons is the appointment for?").select_option("1")
    page.get_by_role("button", name="Show free days").click()
    page.get_by_role("heading", name="Choose a day").wait_for()
    first_free_day(page)
    page.get_by_role("heading", name="Choose a time").wait_for()
    first_free_time(page)
    page.get_by_role("heading", name="Your details", exact=True).wait_for()
    fill_details(page, names=[("Mei", "Lin")], email=EMAIL)
    page.get_by_role("button", name="Book this appointment").click()

    page.get_by_role("heading", name="Your appointment is booked").wait_for()
    appointment = only_appointment()
    assert appointment.location == Location.objects.get(slug="eindhoven")
    assert "/eindhoven/manage/" in page.url
    assert page.get_by_text("Stadhuisplein 10").first.is_visible()


def test_the_location_pages_are_accessible_in_dutch(two_sites, new_context):
    page = new_context(locale="nl-NL", viewport=NARROW).new_page()
    page.goto(two_sites.url + "/")
    page.get_by_role("button", name="Nederlands").click()
    page.get_by_role("heading", name="Een afspraak maken: kies een locatie").wait_for()
    assert_accessible(page, where="de lijst van locaties")
    assert_fits(page, where="de lijst van locaties")  # 320 px wide
    page.goto(two_sites.url + "/eindhoven/book/registration-eu/")
    page.get_by_label("In welke gemeente woont u, of gaat u wonen?").select_option("other")
    page.get_by_role("button", name="Beschikbare dagen tonen").click()
    page.get_by_role("heading", name="Schrijf u in bij het gemeentehuis van uw eigen gemeente").wait_for()
    assert_accessible(page, where="de pagina 'elders inschrijven'")
    assert page.get_by_role("link", name="Expat Centre Maastricht").is_visible()
