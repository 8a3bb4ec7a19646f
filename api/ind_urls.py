"""IND-compatible endpoints under /oap/api/ (see api/ind_views.py).

The slot list answers with and without the slash before `?`; so does the booking address.
"""

from django.urls import path, re_path

from api import ind_views

app_name = "ind"

urlpatterns = [
    re_path(r"^desks/?$", ind_views.desks, name="desks"),
    re_path(r"^desks/(?P<desk>[^/]+)/slots/?$", ind_views.slots, name="slots"),
    path("desks/<str:desk>/slots/<str:key>", ind_views.hold, name="hold"),
    path("desks/<str:product>/<str:desk>/slots/<str:key>", ind_views.hold, name="hold-product"),
    re_path(r"^desks/(?P<desk>[^/]+)/appointments/?$", ind_views.book, name="book"),
    re_path(r"^(?P<rest>.*)$", ind_views.unknown, name="unknown"),
]
