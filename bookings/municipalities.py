"""The municipalities whose new residents can use fast-track registration at a location.

Each location has its own list (`Location.municipalities`, one a line); every check of a municipality goes
through `canonical_municipality`, which takes the location. PARTICIPATING_MUNICIPALITIES is the Maastricht
region's list: what migration 0011 gave the locations that existed before, and what the demo and tests use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bookings.models import Location

MAASTRICHT_REGION_MUNICIPALITIES: tuple[str, ...] = (
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


PARTICIPATING_MUNICIPALITIES = MAASTRICHT_REGION_MUNICIPALITIES


def parse_municipalities(text: str) -> tuple[str, ...]:
    """The names of a one-a-line list, spaces tidied, empty lines and repeats left out."""
    return tuple(dict.fromkeys(" ".join(line.split()) for line in text.splitlines() if line.strip()))


def municipalities_for(location: Location | None) -> tuple[str, ...]:
    """The participating municipalities of a location, in their own spelling (none without a location)."""
    if location is None:
        return ()
    text = getattr(location, "municipalities", None)
    if text is None:  # a historical model of a migration before 0011 (0008 tidies stored names with it)
        return MAASTRICHT_REGION_MUNICIPALITIES
    return parse_municipalities(text)


def _folded(value: str) -> str:
    return " ".join(value.split()).casefold()


def canonical_municipality(*, location: Location | None, value: str) -> str | None:
    """The location's municipality `value` names, in its own spelling ("heerlen " → "Heerlen"); None when
    it names none of them."""
    wanted = _folded(value)
    return next((name for name in municipalities_for(location) if _folded(name) == wanted), None)


def is_participating(municipality: str, *, location: Location | None = None) -> bool:
    return canonical_municipality(location=location, value=municipality) is not None
