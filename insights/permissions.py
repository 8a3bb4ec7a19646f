"""Who sees the dashboard: admins, and desk leads (members of the "Desk leads" group), past the second factor."""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from desk.permissions import desk_required, is_desk_admin

DESK_LEADS_GROUP = "Desk leads"


def sees_insights(user) -> bool:
    if is_desk_admin(user):
        return True
    if not hasattr(user, "_insights_role"):
        user._insights_role = user.groups.filter(name=DESK_LEADS_GROUP).exists()
    return user._insights_role


def insights_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """As desk_required (a desk lead is in the Desk staff group too), and only for admins and desk leads."""

    @wraps(view)
    @desk_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not sees_insights(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
