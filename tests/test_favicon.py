"""Every kind of page has the site's favicon, a static file (no CDN); /favicon.ico leads to it."""

import pytest

from tests.support.desk import desk_admin, sign_in

ICON = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


@pytest.mark.parametrize(
    "url",
    ["/desk/login/", "/desk/", "/desk/walk-in/", "/desk/print/", "/admin/", "/admin/bookings/appointment/", "/{desk}/"],
)
def test_desk_admin_and_public_pages_have_the_favicon(client, desk, url):
    sign_in(client, desk_admin())
    url = url.format(desk=desk.slug)  # a location's start page
    response = client.get(url)
    assert response.status_code == 200, url
    assert ICON in response.content.decode(), url


def test_the_icon_is_served_from_static_and_favicon_ico_points_to_it(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.url == "/static/favicon.svg"
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)
