"""IND-compatible endpoints under /oap/api/ (see api/ind_views.py)."""

urlpatterns: list = []
