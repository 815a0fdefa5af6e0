"""Read a published report as a person does: the text a browser shows, and any English left in it.

Two checks on the visible text (text nodes outside <script>/<style>, the <title>, images' alternative text):
every English source string of the reports' catalogues whose translation differs must be absent (a whole text
node, or inside one for sentences); and the words a reader takes as the page's own — headings, table headings,
key figures' labels, captions, notes — must hold no common English word. Data (names, the reasons clients typed)
is only covered by the first check, as it is data.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

from esign.i18n.extract import LOCALE_DIR

#: The catalogues a report's words come from.
DOMAINS = ("reporting", "model")
#: Elements whose text is the page's own wording, not data.
OWN_WORDS = "title, h1, h2, h3, th, dt, figcaption, p.intro, p.empty, p.note, p.subtitle, p.zone"
ENGLISH = re.compile(r"\b(the|of|and|by|per|with|each|report|signed|documents|requests|time|stage|days|sent|"
                     r"reminders|run|batch|step|waiting|channel)\b", re.IGNORECASE)


def visible_texts(page: Path) -> list[str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    texts = [s.strip() for s in soup.stripped_strings]
    texts += [img["alt"] for img in soup.select("img[alt]")]
    return [t for t in texts if t]


@cache
def _english_sources(locale: str) -> frozenset[str]:
    """Source strings whose ``locale`` translation differs from them (placeholders cut off at the first one)."""
    found: set[str] = set()
    for domain in DOMAINS:
        with (LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and isinstance(message.id, str) and message.string != message.id:
                    fixed = message.id.split("%(", 1)[0].strip()
                    if len(fixed) >= 3:
                        found.add(fixed)
    return frozenset(found)


def english_left(page: Path, locale: str) -> list[str]:
    """What a reader of ``locale`` would see in English on ``page`` (empty when none)."""
    texts = visible_texts(page)
    problems = []
    for source in sorted(_english_sources(locale)):
        for text in texts:
            if text == source or (len(source) > 24 and source in text) or text.startswith(source + " "):
                problems.append(f"{source!r} in {text!r}")
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for element in soup.select(OWN_WORDS):
        text = element.get_text(" ", strip=True)
        if match := ENGLISH.search(text):
            problems.append(f"English word {match.group(0)!r} in <{element.name}>: {text!r}")
    return problems
