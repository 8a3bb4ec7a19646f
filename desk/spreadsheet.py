"""CSV downloads as the desk's spreadsheets read them (Excel in Dutch): UTF-8 with a byte-order mark, so
names in any script come out right, ";" between fields (the separator Dutch Excel expects), and no cell
that a spreadsheet would run as a formula. Used by the agenda's export and the insights dashboard."""

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpResponse


def csv_safe(value: str) -> str:
    """Keep a spreadsheet from running a text as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_response(*, filename: str, header: Sequence[object], rows: Iterable[Sequence[object]]) -> HttpResponse:
    """An attachment with this header row and these rows; text cells are made formula-safe."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow([str(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_safe(cell) if isinstance(cell, str) else cell for cell in row])
    return response
