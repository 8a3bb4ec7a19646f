"""URLs for the e-mail tests: the real bookings pages once bookings/urls.py exists, stand-ins until then.

The e-mails only need `bookings:manage` and `bookings:start` to reverse; the stand-ins have the
paths of the issue-3 contract, so the links in the tested e-mails are the real ones.
"""

from django.http import HttpResponse
from django.urls import include, path

try:
    from bookings import urls as bookings_urls
except ImportError:  # pragma: no cover - until the web-flow pages land
    bookings_urls = None


def _stand_in(request, **kwargs):
    return HttpResponse("stand-in")


if bookings_urls is not None:
    urlpatterns = [path("", include("bookings.urls"))]
else:
    urlpatterns = [
        path(
            "",
            include(
                (
                    [
                        path("", _stand_in, name="start"),
                        path("manage/<str:token>/", _stand_in, name="manage"),
                    ],
                    "bookings",
                )
            ),
        )
    ]
