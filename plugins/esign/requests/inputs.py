"""Checks and normalisation of what a client types or draws, before anything is stored."""

from __future__ import annotations

import io
import re
import unicodedata

from PIL import Image, UnidentifiedImageError

from esign.requests.errors import InvalidInputError

MAX_NAME = 200
MAX_REASON = 1000
MAX_PNG_BYTES = 1024 * 1024
MAX_PNG_SIDE = 2000
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _has_control(text: str, allowed: str = "") -> bool:
    return any(
        (unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed) or ch in _BIDI_CONTROLS for ch in text
    )


def clean_name(value: str) -> str:
    """A typed name: NFC, inner whitespace collapsed, 1-200 characters, no control or bidi characters."""
    if _has_control(value):
        raise InvalidInputError("typed_name", "o nome contém caracteres inválidos")
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", value)).strip()
    if not text:
        raise InvalidInputError("typed_name", "informe seu nome completo")
    if len(text) > MAX_NAME:
        raise InvalidInputError("typed_name", f"o nome pode ter no máximo {MAX_NAME} caracteres")
    return text


def clean_reason(value: str) -> str:
    """A decline reason: required, at most 1,000 characters, line breaks allowed, no other controls."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInputError("reason", "informe o motivo da recusa")
    if len(text) > MAX_REASON:
        raise InvalidInputError("reason", f"o motivo pode ter no máximo {MAX_REASON} caracteres")
    if _has_control(text, allowed="\n\t"):
        raise InvalidInputError("reason", "o motivo contém caracteres inválidos")
    return text


def normalise_png(data: bytes) -> bytes | None:
    """Re-encode a drawn signature as a clean RGBA PNG; None when nothing was drawn (fully transparent).

    Re-encoding drops any metadata or trailing bytes; the size checks run on the header before decoding,
    so a decompression bomb is refused without being decoded.
    """
    if len(data) > MAX_PNG_BYTES:
        raise InvalidInputError("drawn_png", "a imagem da assinatura é grande demais (máximo 1 MB)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise InvalidInputError("drawn_png", "a assinatura desenhada precisa ser uma imagem PNG")
            width, height = image.size
            if width < 1 or height < 1 or width > MAX_PNG_SIDE or height > MAX_PNG_SIDE:
                raise InvalidInputError("drawn_png", "a imagem da assinatura tem dimensões inválidas")
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInputError("drawn_png", "a imagem da assinatura não pôde ser lida") from exc
    if rgba.getchannel("A").getbbox() is None:
        return None
    out = io.BytesIO()
    rgba.save(out, format="PNG", optimize=True)
    return out.getvalue()


def mask_destination(destination: str) -> str:
    """What may be shown and logged: ``j***@example.com`` or ``+5511*****1234``."""
    if "@" in destination:
        local, _, domain = destination.rpartition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\D", "", destination)
    if len(digits) <= 4:
        return "*" * len(digits)
    prefix = "+" if destination.strip().startswith("+") else ""
    head = digits[:4] if len(digits) >= 10 else ""
    return prefix + head + "*" * (len(digits) - len(head) - 4) + digits[-4:]
