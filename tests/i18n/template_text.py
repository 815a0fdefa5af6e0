"""Find text a person would read in a Jinja2 template that is not inside a translation.

The template is lexed with Jinja's own lexer: template data outside ``{% trans %}`` blocks is kept, every Jinja
construct becomes a blank. What remains is read as HTML (text nodes outside <script>/<style>, and the attributes a
person reads) or, for plain-text templates, as text. Any word of two letters or more left there was typed into
the template instead of going through the catalogue.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2

WORD = re.compile(r"[^\W\d_]{2,}")
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label"}
VALUE_INPUTS = {"submit", "button", "reset"}


def _outside_translations(source: str) -> str:
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    kept: list[str] = []
    depth = 0
    previous = ""
    for _, kind, value in env.lex(source):
        if kind == "name" and previous == "block_begin":
            if value == "trans":
                depth += 1
            elif value == "endtrans":
                depth -= 1
        if kind != "whitespace":
            previous = kind
        if kind == "data" and depth == 0:
            kept.append(value)
        elif kind in ("variable_begin", "block_begin", "comment_begin"):
            kept.append(" ")
    return "".join(kept)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        values = dict(attrs)
        for name, value in attrs:
            readable = name in READ_ATTRIBUTES or (
                name == "value" and tag == "input" and (values.get("type") or "") in VALUE_INPUTS)
            if readable and value and WORD.search(value):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and WORD.search(data):
            self.found.append(data.strip())


def untranslated_text(path: Path) -> list[str]:
    """The pieces of ``path`` a person reads that bypass the catalogue (empty when the template is clean)."""
    text = _outside_translations(path.read_text(encoding="utf-8"))
    if path.suffix == ".html":
        reader = _Reader()
        reader.feed(text)
        reader.close()
        return reader.found
    return [line.strip() for line in text.splitlines() if WORD.search(line)]
