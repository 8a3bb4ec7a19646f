"""drf-spectacular hooks: the /api/v1/ schema describes /api/v1/ only."""

from __future__ import annotations

from typing import Any


def only_api_v1(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """PREPROCESSING_HOOKS: keep the endpoints under /api/v1/ (not the schema and docs views themselves)."""
    return [
        (path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
        if path.startswith("/api/v1/") and not path.startswith(("/api/v1/schema", "/api/v1/docs"))
    ]
