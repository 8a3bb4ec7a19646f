"""English as the desk writes it: British day-month order and the 24-hour clock (FORMAT_MODULE_PATH).

Django's own "en" formats are American ("Dec. 1, 2026, 9:15 a.m.", 2026-12-01 in forms); the desk's
English pages and the admin say "1 Dec 2026, 09:15" and take 01/12/2026. Dutch uses Django's "nl" formats.
"""

from django.conf.locale.en_GB.formats import (  # noqa: F401
    DATE_INPUT_FORMATS,
    DATETIME_INPUT_FORMATS,
    DECIMAL_SEPARATOR,
    FIRST_DAY_OF_WEEK,
    MONTH_DAY_FORMAT,
    NUMBER_GROUPING,
    THOUSAND_SEPARATOR,
    YEAR_MONTH_FORMAT,
)

DATE_FORMAT = "j M Y"  # 1 Dec 2026
TIME_FORMAT = "H:i"  # 09:15
DATETIME_FORMAT = "j M Y, H:i"  # 1 Dec 2026, 09:15
SHORT_DATE_FORMAT = "d/m/Y"  # 01/12/2026
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f"]
