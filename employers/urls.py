from django.urls import path

from employers import views
from expatdesk.ratelimits import rate_limited

app_name = "employers"

urlpatterns = [
    path("", views.bookings, name="bookings"),
    # Sign-in and sign-up POSTs per address share the staff sign-in's limit (EXPATDESK_RATE_LOGIN).
    path("login/", rate_limited("login")(views.LoginView.as_view()), name="login"),
    path("sign-up/", rate_limited("login")(views.sign_up), name="sign_up"),
    path("sign-up/sent/", views.signed_up, name="signed_up"),
    path("visit/", views.book_visit, name="book_visit"),
    path("booking/<str:reference>/", views.booking, name="booking"),
    path("booking/<str:reference>/move/", views.move, name="move"),
    path("booking/<str:reference>/cancel/", views.cancel, name="cancel"),
]
