"""Our own API at /api/v1/ (Django REST framework); filled by the DRF work."""

urlpatterns: list = []
