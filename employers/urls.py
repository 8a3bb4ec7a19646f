from django.urls import path

from employers import views

app_name = "employers"

urlpatterns = [
    path("", views.bookings, name="bookings"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/sent/", views.signed_up, name="signed_up"),
]
