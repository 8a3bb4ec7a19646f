"""The municipalities whose new residents can use fast-track registration at the desk."""

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


def is_participating(municipality: str) -> bool:
    return municipality in PARTICIPATING_MUNICIPALITIES
