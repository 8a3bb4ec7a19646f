"""The municipalities whose new residents can use fast-track registration at the desk.

Every check of a municipality goes through `canonical_municipality`, which takes the location: the list is
the same for every location today, and becomes the location's own list later (issue 12) in this one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bookings.models import Location

PARTICIPATING_MUNICIPALITIES: tuple[str, ...] = (
    "Beek",
    "Beekdaelen",
    "Brunssum",
    "Echt-Susteren",
    "Eijsden-Margraten",
    "Gulpen-Wittem",
    "Heerlen",
    "Kerkrade",
    "Landgraaf",
    "Maastricht",
    "Meerssen",
    "Simpelveld",
    "Sittard-Geleen",
    "Stein",
    "Vaals",
    "Valkenburg aan de Geul",
    "Voerendaal",
)


def municipalities_for(location: Location | None) -> tuple[str, ...]:
    """The participating municipalities of a location, in their own spelling."""
    return PARTICIPATING_MUNICIPALITIES


def _folded(value: str) -> str:
    return " ".join(value.split()).casefold()


def canonical_municipality(*, location: Location | None, value: str) -> str | None:
    """The location's municipality `value` names, in its own spelling ("heerlen " → "Heerlen"); None when
    it names none of them."""
    wanted = _folded(value)
    return next((name for name in municipalities_for(location) if _folded(name) == wanted), None)


def is_participating(municipality: str, *, location: Location | None = None) -> bool:
    return canonical_municipality(location=location, value=municipality) is not None
