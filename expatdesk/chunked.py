"""Request bodies sent with `Transfer-Encoding: chunked` and no `Content-Length` (issue 11).

Some HTTP clients (IND slot checkers among them) stream their POST body in chunks. Django reads a body
only as far as CONTENT_LENGTH says, so such a body arrives empty ("not valid JSON") under gunicorn and
under runserver alike. This middleware reads it first, at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, and
hands it on as an ordinary body with its length, so Django's `request.body` and REST framework's parsers
see it.

- gunicorn (and other servers that decode chunked requests) give the decoded body as `wsgi.input`.
- Django's own server (runserver, the tests' live server) does not decode it: its `wsgi.input` is a
  LimitedStream of length 0 over the connection, so the chunks are read from the stream underneath it.

A body larger than the limit is cut there and marked with a length above the limit, so that reading it
raises RequestDataTooBig as for any other oversized body (the APIs answer 400 / 413 in their own shape).
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse

# A chunk-size line is a few hex digits, perhaps with extensions; anything longer is not HTTP.
MAX_LINE = 1024


class MalformedChunks(ValueError):
    pass


def _limit() -> int:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit if limit is not None else 2**31


def read_chunks(read: Callable[[int], bytes], readline: Callable[[int], bytes], *, limit: int) -> bytes:
    """Decode a chunked body (RFC 9112 §7.1) from the raw stream: at most `limit` + 1 bytes of content."""
    body = bytearray()
    while True:
        line = readline(MAX_LINE)
        if not line.endswith(b"\n"):
            raise MalformedChunks("chunk size line")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as error:
            raise MalformedChunks("chunk size") from error
        if size < 0:
            raise MalformedChunks("chunk size")
        if size == 0:
            break
        if len(body) + size > limit:
            body += read(limit + 1 - len(body))
            return bytes(body)  # too large: the caller refuses it; the connection is closed after the answer
        chunk = read(size)
        if len(chunk) != size:
            raise MalformedChunks("truncated chunk")
        body += chunk
        if read(2) not in (b"\r\n", b"\n"):
            raise MalformedChunks("chunk end")
    while True:  # trailer fields, up to the empty line
        line = readline(MAX_LINE)
        if line in (b"\r\n", b"\n", b""):
            break
    return bytes(body)


def is_chunked_without_length(request: HttpRequest) -> bool:
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding and not request.META.get("CONTENT_LENGTH")


def read_chunked_body(request: HttpRequest) -> bytes | None:
    """The body of a chunked request (None when it cannot be read: malformed chunks)."""
    limit = _limit()
    stream = request.META.get("wsgi.input")
    if stream is None:
        return b""
    try:
        if isinstance(stream, LimitedStream):  # Django's own server: the chunks are still encoded
            return read_chunks(stream._read, stream._readline, limit=limit)
        return stream.read(limit + 1)  # the server decoded them
    except (MalformedChunks, OSError):
        return None


class ChunkedBodyMiddleware:
    """Give a chunked request body a length before any view or parser reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH") and is_chunked_without_length(request):
            body = read_chunked_body(request)
            if body is not None:
                request.META["CONTENT_LENGTH"] = str(len(body))
                request._stream = LimitedStream(BytesIO(body), len(body))
        return self.get_response(request)
