"""Our own API at /api/v1/ (Django REST framework; code in api/v1/), its OpenAPI 3 schema and docs page."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.v1 import booking_views, views
from api.v1.errors import not_found

app_name = "api_v1"


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its assets from static (drf-spectacular-sidecar) and its init script served as a
    file (`?script=`), so the page needs no inline script or style (CSP script-src 'self')."""

    template_name = "api_v1/swagger_ui.html"


urlpatterns = [
    path("services/", views.ServiceListView.as_view(), name="services"),
    path("services/<str:code>/", views.ServiceDetailView.as_view(), name="service"),
    path("locations/", views.LocationListView.as_view(), name="locations"),
    path("locations/<str:short_code>/", views.LocationDetailView.as_view(), name="location"),
    path(
        "locations/<str:short_code>/services/<str:code>/free-days/",
        views.FreeDaysView.as_view(),
        name="free-days",
    ),
    path(
        "locations/<str:short_code>/services/<str:code>/free-times/",
        views.FreeTimesView.as_view(),
        name="free-times",
    ),
    path("locations/<str:short_code>/visits/free-times/", views.VisitTimesView.as_view(), name="visit-times"),
    path("holds/", booking_views.HoldView.as_view(), name="holds"),
    path("visits/holds/", booking_views.VisitHoldView.as_view(), name="visit-holds"),
    path("bookings/", booking_views.BookView.as_view(), name="bookings"),
    path("bookings/manage/", booking_views.ManageView.as_view(), name="manage"),
    path("bookings/manage/cancel/", booking_views.CancelView.as_view(), name="cancel"),
    path("bookings/manage/move/", booking_views.MoveView.as_view(), name="move"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api_v1:schema"), name="docs"),
    # Any other address under /api/v1/: the JSON 404, not the HTML page.
    re_path(r"^(?P<path>.*)$", not_found, name="not-found"),
]
