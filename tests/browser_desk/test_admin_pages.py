"""In Chromium: the admin's location pages pass axe-core in English and Dutch (issue 11), with counters,
opening hours and closures as inlines, and show dates in the language's own format."""

from datetime import date, datetime

import pytest

from bookings import actions
from bookings.models import Location
from tests.support.browser import assert_accessible, signed_in_context
from tests.support.desk import desk_admin

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


@pytest.mark.parametrize("locale", ["en-GB", "nl-NL"])
def test_the_location_pages_of_the_admin_pass_axe(site, new_context, locale):
    location = Location.objects.get()
    actions.add_closure(
        location=location,
        start_date=date(2027, 3, 2),
        end_date=date(2027, 3, 2),
        reason="Training",
        now=datetime(2026, 12, 1, 8, 0).astimezone(),
    )
    page = signed_in_context(new_context, site, desk_admin(), viewport=DESKTOP, locale=locale).new_page()

    for path in (
        "/admin/bookings/location/",
        f"/admin/bookings/location/{location.pk}/change/",
        "/admin/bookings/location/add/",
    ):
        page.goto(site.url + path)
        assert_accessible(page, where=f"admin {path} ({locale})")

    page.goto(site.url + f"/admin/bookings/location/{location.pk}/change/")
    closure_day = page.locator("#id_closures-0-start_date").input_value()
    assert closure_day == "02-03-2027" if locale == "nl-NL" else closure_day == "02/03/2027"
