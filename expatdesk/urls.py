from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from expatdesk.health import healthz
from expatdesk.views import favicon, signed_in

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico where a page names none (a CSV download, a JSON answer): the site's icon.
    path("favicon.ico", favicon),
    # The JSON APIs (/oap/api/, /api/v1/) before the includes without a prefix, which every address not matched
    # before them is tried against: an API request resolves in a few steps (no other address starts like them).
    path("", include("api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # After the password (and before the code): the signed-in user's own start page.
    path("signed-in/", signed_in, name="signed_in"),
    path("admin/", admin.site.urls),
    # /desk/insights/ (the KPI dashboard) and /feedback/<token>/ (the feedback e-mail's pages).
    path("", include("insights.urls")),
    # The queue: /kiosk/<slug>/, /display/<slug>/, /device/sign-in/…, /desk/queue/… (queueing/urls.py).
    path("", include("queueing.urls")),
    path("desk/", include("desk.urls")),
    path("employer/", include("employers.urls")),
    path("waitlist/", include("waitlist.urls")),
    path("", include("bookings.urls")),
]

if settings.EXPATDESK_BENCHMARK_URLS:  # the HTTP benchmark's baselines (bench/urls.py); never in production
    urlpatterns.insert(0, path("bench/", include("bench.urls")))
