"""Structured logs: one JSON object a line, for a log collector (DJANGO_LOG_FORMAT=json, production's default).

Only the record's own fields go out: time, level, logger, message, and where present the exception and
the request's method and path. Log messages name appointments by id or reference, never by a person's
name, e-mail address or phone number; the request object itself (headers, cookies, body) is not logged.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# A manage link's token opens a booking; an e-mail address is personal data. Neither belongs in a log,
# even when Django's own loggers quote a path ("Not Found: /manage/<token>/") or a library quotes input.
_TOKEN_PATH = re.compile(r"/manage/[^/\s?#]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    return _EMAIL.sub("[e-mail]", _TOKEN_PATH.sub("/manage/[token]", text))


class RedactFilter(logging.Filter):
    """Masks manage tokens and e-mail addresses in every message, whatever the format."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        status_code = getattr(record, "status_code", None)
        if isinstance(status_code, int):
            entry["status"] = status_code
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            # Only the path: query strings and bodies may carry what a person typed.
            entry["method"] = request.method
            entry["path"] = redact(getattr(request, "path", ""))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
