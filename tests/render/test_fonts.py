"""The shipped font: registered once, licensed, and safe for characters it lacks."""

from __future__ import annotations

from reportlab.pdfbase import pdfmetrics

from esign.render.fonts import FONT_DIR, MISSING_GLYPH, font_safe, register_fonts


def test_register_fonts_is_idempotent_and_returns_names() -> None:
    first = register_fonts()
    assert first == register_fonts() == ("EsignSans", "EsignSans-Bold")
    regular = pdfmetrics.getFont(first[0])
    assert regular.stringWidth("Prestação", 10) > 0


def test_font_files_ship_with_their_license() -> None:
    assert (FONT_DIR / "DejaVuSans.ttf").stat().st_size > 100_000
    assert (FONT_DIR / "DejaVuSans-Bold.ttf").stat().st_size > 100_000
    assert "Bitstream" in (FONT_DIR / "LICENSE").read_text(encoding="utf-8")


def test_font_safe_keeps_what_the_font_draws() -> None:
    text = "São Paulo Ünïcödé ÆØÅ Ωμέγα Привет שלום مرحبا 😀 \n\t"
    assert font_safe(text) == text


def test_font_safe_boxes_missing_glyphs_and_drops_invisible_ones() -> None:
    assert font_safe("a\U0001f984b") == f"a{MISSING_GLYPH}b"  # unicorn: not in DejaVu
    assert font_safe("x\U000e0001y") == "xy"  # a language tag (format character) the font lacks
