"""What may be typed into a name (issue 9): no control or format characters. Pure functions.

Names are shown in the agenda, printed on the day list and repeated in the official e-mail. Line breaks
(CR, LF, U+2028, U+2029), tabs, NUL and the other control characters (Unicode category Cc), and the
invisible format characters (Cf), among them the bidirectional controls U+202A to U+202E and U+2066 to U+2069
that make text read in another order than it is stored, would change how a name reads there; PostgreSQL
also refuses NUL in text. The two joiners U+200C (ZWNJ) and U+200D (ZWJ) are Cf too but belong to how
Persian, Indic and other scripts write ordinary names, so they are allowed. The few format characters
beyond U+FFFF (emoji tag characters, Egyptian hieroglyph and musical-notation controls) change neither
lines nor reading order and are not refused: the rule is one that the API's OpenAPI schema can state as a
pattern in every regular-expression dialect (api/v1/serializers.py).
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
ALLOWED_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})


def is_refused(char: str) -> bool:
    return (
        char <= "\uffff" and unicodedata.category(char) in REFUSED_CATEGORIES and char not in ALLOWED_FORMAT_CHARACTERS
    )


def has_control_characters(value: str) -> bool:
    return any(is_refused(char) for char in value)


def validate_name_characters(value: str) -> None:
    """Form and serializer validator: the translated refusal of a name with control characters."""
    if has_control_characters(value):
        raise ValidationError(
            _("A name cannot contain line breaks, tabs or other invisible control characters."),
            code="control_characters",
        )
