"""The JSON APIs: the IND-compatible endpoints (/oap/api/) and our own API (/api/v1/)."""

from django.urls import include, path

urlpatterns = [
    path("oap/api/", include("api.ind_urls")),
    path("api/v1/", include("api.v1_urls")),
]
