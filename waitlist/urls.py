"""Public URLs of the waitlist (names in the `waitlist` namespace). POSTs are rate limited per address."""

from django.urls import path

from expatdesk.ratelimits import rate_limited
from waitlist import views

app_name = "waitlist"

urlpatterns = [
    path("earlier/<str:token>/", rate_limited("waitlist")(views.earlier), name="earlier"),
    path("leave/<str:token>/", rate_limited("manage")(views.leave), name="leave"),
    path("offer/<str:token>/", rate_limited("manage")(views.offer), name="offer"),
    path("<slug:location>/<slug:service_code>/join/", rate_limited("waitlist")(views.join), name="join"),
]
