from django.contrib import admin
from django.urls import include, path

from expatdesk.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("desk/", include("desk.urls")),
    path("employer/", include("employers.urls")),
    path("", include("api.urls")),
    path("", include("bookings.urls")),
]
