"""The JSON parser of /api/v1/: REST framework's, with deeply nested input refused as a parse error.

`json.load` raises RecursionError on input nested thousands of levels deep ("[[[[...]]]]"); REST
framework only turns ValueError into its ParseError, so such a body was a 500 (issue 9). Here it is a
400 `parse_error` like any other body that is not JSON.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as RestFrameworkJSONParser


class JSONParser(RestFrameworkJSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError as error:
            raise ParseError(_("The request body is nested too deeply.")) from error
