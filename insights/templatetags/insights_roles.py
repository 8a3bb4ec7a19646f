"""`{% load insights_roles %}{% if user|sees_insights %}`: the dashboard's link only for admins and desk leads."""

from django import template

from insights.permissions import sees_insights as _sees_insights

register = template.Library()


@register.filter
def sees_insights(user) -> bool:
    return bool(user.is_authenticated) and _sees_insights(user)
