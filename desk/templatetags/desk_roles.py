"""`{% load desk_roles %}{% if user|is_desk_user %}`: the desk's links only for desk staff and admins (HR staff
of employers pass through the desk's sign-in pages too). Cached on the user: no query on the desk's own pages."""

from django import template

from desk.permissions import is_desk_user as _is_desk_user

register = template.Library()


@register.filter
def is_desk_user(user) -> bool:
    return _is_desk_user(user)
