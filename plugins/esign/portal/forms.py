"""Reading POST bodies with hard size limits, in memory (an uploaded PDF is never written to disk)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from esign.errors import PortalError


class BodyTooLargeError(PortalError):
    """The request body is larger than the route allows."""

    reason = "too_large"

    def __init__(self, limit_mb: int) -> None:
        super().__init__(f"the body is over the limit of {limit_mb} MB")
        self.limit_mb = limit_mb


def _too_large(limit: int) -> BodyTooLargeError:
    return BodyTooLargeError(limit // (1024 * 1024) or 1)


class BadFormError(PortalError):
    """The body is not the form the route expects."""

    reason = "bad_form"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (early, by Content-Length, or while streaming) anything over ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_urlencoded(request: Request, limit: int) -> dict[str, str]:
    """A small ``application/x-www-form-urlencoded`` form as a dict (first value wins)."""
    body = await read_body(request, limit)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadFormError("the form could not be read")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadFormError("the form could not be read") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)


async def read_multipart(request: Request, limit: int) -> dict[str, tuple[str, bytes]]:
    """A ``multipart/form-data`` body parsed in memory: field name -> (file name, bytes)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise BadFormError("the form could not be read")
    body = await read_body(request, limit)
    parts: list[_Part] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        parts.append(_Part())

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1].headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
    })
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # python-multipart raises its own error types for broken bodies
        raise BadFormError("the form could not be read") from exc
    result: dict[str, tuple[str, bytes]] = {}
    for part in parts[:10]:
        _, disposition = parse_options_header(part.headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename", b"").decode("utf-8", "replace")
        if name and name not in result:
            result[name] = (filename, bytes(part.data))
    return result
