"""The catalogues hold every msgid of the code and templates, translated for pt-BR and es, placeholders intact;
and no template shows a person text that bypasses them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from esign.i18n import SUPPORTED_LOCALES
from esign.i18n.extract import LOCALE_DIR, PROJECT_DIR, differences, extracted
from tests.i18n.template_text import untranslated_text

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w+)\}")
#: Languages in which every message must have a translation (English msgids stand for themselves in `en`).
TRANSLATED = ("pt_BR", "es")

TEMPLATE_DIRS = [
    PROJECT_DIR / "plugins" / "esign" / "portal" / "templates",
    PROJECT_DIR / "plugins" / "esign" / "register" / "templates",
    PROJECT_DIR / "templates" / "email",
]
#: Templates still written in Portuguese, being moved onto the catalogue; the list only shrinks (strict xfail).
PENDING: set[str] = set()


def _templates() -> list[object]:
    params: list[object] = []
    for folder in TEMPLATE_DIRS:
        for path in sorted(p for p in folder.rglob("*") if p.suffix in (".html", ".txt")):
            name = str(path.relative_to(PROJECT_DIR))
            marks = [pytest.mark.xfail(strict=True, reason="not yet on the catalogue")] if name in PENDING else []
            params.append(pytest.param(path, id=name, marks=marks))
    return params


def test_catalogues_hold_exactly_the_msgids_in_the_code() -> None:
    problems = differences(extracted())
    assert not problems, "run `make messages` and translate the new entries:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_entry_is_translated_with_its_placeholders(locale: str) -> None:
    problems: list[str] = []
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        for message in catalog:
            if not message.id:
                continue
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            strings = [message.string] if isinstance(message.string, str) else list(message.string)
            if message.fuzzy:
                problems.append(f"{path.name}: fuzzy {ids[0]!r}")
            if locale in TRANSLATED and not all(strings):
                problems.append(f"{path.name}: untranslated {ids[0]!r}")
                continue
            wanted = {m for i in ids for m in PLACEHOLDER.findall(i)}
            for string in strings:
                if string and {m for m in PLACEHOLDER.findall(string)} != wanted:
                    problems.append(f"{path.name}: placeholders differ in {ids[0]!r} -> {string!r}")
    assert not problems, "\n".join(problems)


def test_pending_list_names_existing_templates() -> None:
    names = {str(p.relative_to(PROJECT_DIR)) for folder in TEMPLATE_DIRS for p in folder.rglob("*")}
    assert names >= PENDING, sorted(PENDING - names)


@pytest.mark.parametrize("path", _templates())
def test_templates_show_no_text_outside_the_catalogue(path: Path) -> None:
    assert untranslated_text(path) == []
