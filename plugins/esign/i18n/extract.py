"""Extract the msgids from the code and templates and bring the ``.po`` catalogues up to date.

``python -m esign.i18n.extract`` (``make messages``) writes the catalogues, keeping every existing translation;
new msgids arrive untranslated for a person to fill. ``--check`` writes nothing and exits 1 when a catalogue is
missing msgids or keeps stale ones. One domain (``.po`` file) per top-level area of the package, so that work on
different areas edits different files. Entries carry no source locations and are sorted by msgid, so that a
change to the code does not rewrite the catalogues.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from esign.i18n.catalog import LOCALE_DIR, SUPPORTED_LOCALES

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PROJECT_DIR = PACKAGE_DIR.parents[1]
#: Project folders outside the package whose files people read, with their domain.
EXTRA_SOURCES: dict[str, Path] = {"email": PROJECT_DIR / "templates" / "email"}
METHODS = {".py": "python", ".html": "jinja2", ".txt": "jinja2"}
JINJA_OPTIONS = {"trimmed": "true", "newstyle_gettext": "true"}
#: A fixed header date: regenerating a catalogue must not change it when no message changed.
HEADER_DATE = datetime(2026, 1, 1, tzinfo=UTC)
HEADER_COMMENT = ("# Translations of esign-pipeline's user-facing text (domain: one area of the package).\n"
                  "# Regenerate the msgids with `make messages`; fill msgstr by hand.")


@dataclass(frozen=True)
class Source:
    domain: str
    path: Path


def sources() -> Iterator[Source]:
    """Every file that may hold user-facing text, with the domain its msgids belong to."""
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.suffix not in METHODS or not path.is_file() or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(PACKAGE_DIR)
        if relative.parts[0] == "i18n":
            continue
        yield Source("core" if len(relative.parts) == 1 else relative.parts[0], path)
    for domain, folder in EXTRA_SOURCES.items():
        for path in sorted(folder.rglob("*")):
            if path.suffix in METHODS and path.is_file():
                yield Source(domain, path)


def extracted() -> dict[str, Catalog]:
    """The msgids found in the sources, one template catalogue per domain."""
    catalogs: dict[str, Catalog] = {}
    for source in sources():
        method = METHODS[source.path.suffix]
        options = JINJA_OPTIONS if method == "jinja2" else {}
        catalog = catalogs.setdefault(source.domain, Catalog(domain=source.domain, fuzzy=False,
                                                             creation_date=HEADER_DATE))
        for lineno, message, comments, context in extract_from_file(method, str(source.path), options=options):
            where = (str(source.path.relative_to(PROJECT_DIR)), lineno)
            existing = catalog.get(message if isinstance(message, str) else message[0], context)
            if existing is not None:
                existing.locations.append(where)
                continue
            catalog.add(message, locations=[where], auto_comments=comments, context=context)
    return {domain: catalog for domain, catalog in catalogs.items() if len(catalog)}


def po_path(locale: str, domain: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


def _read(locale: str, domain: str) -> Catalog:
    path = po_path(locale, domain)
    if path.is_file():
        with path.open("rb") as handle:
            return read_po(handle, locale=locale, domain=domain)
    return Catalog(locale=locale, domain=domain, project="esign-pipeline", version="1", creation_date=HEADER_DATE,
                   revision_date=HEADER_DATE, fuzzy=False, header_comment=HEADER_COMMENT,
                   copyright_holder="esign-pipeline", msgid_bugs_address="", last_translator="esign-pipeline",
                   language_team=locale)


def _ids(catalog: Catalog) -> set[tuple[str, str | None]]:
    return {(str(m.id if isinstance(m.id, str) else m.id[0]), m.context) for m in catalog if m.id}


def differences(templates: dict[str, Catalog]) -> list[str]:
    """What ``update`` would change, one line per catalogue: missing and stale msgids."""
    problems: list[str] = []
    domains = set(templates) | {p.stem for p in LOCALE_DIR.glob("*/LC_MESSAGES/*.po")}
    for locale in SUPPORTED_LOCALES:
        for domain in sorted(domains):
            wanted = _ids(templates[domain]) if domain in templates else set()
            have = _ids(_read(locale, domain))
            missing, stale = wanted - have, have - wanted
            if missing or stale:
                problems.append(f"{locale}/{domain}.po: {len(missing)} missing {sorted(m[0] for m in missing)[:5]}, "
                                f"{len(stale)} stale {sorted(s[0] for s in stale)[:5]}")
    return problems


def update(templates: dict[str, Catalog]) -> list[Path]:
    """Write every catalogue so that it holds exactly the extracted msgids; returns the files written."""
    written: list[Path] = []
    for locale in SUPPORTED_LOCALES:
        for domain, template in sorted(templates.items()):
            catalog = _read(locale, domain)
            catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
            catalog.creation_date = catalog.creation_date or HEADER_DATE
            catalog.revision_date = HEADER_DATE
            path = po_path(locale, domain)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                write_po(handle, catalog, width=120, no_location=True, omit_header=False, sort_output=True,
                         ignore_obsolete=True, include_previous=False)
            written.append(path)
        for stale in sorted(po_path(locale, "x").parent.glob("*.po")):
            if stale.stem not in templates:
                stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m esign.i18n.extract", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a catalogue is out of date")
    args = parser.parse_args(argv)
    templates = extracted()
    if args.check:
        problems = differences(templates)
        for line in problems:
            print(line)
        return 1 if problems else 0
    for path in update(templates):
        print(path.relative_to(PROJECT_DIR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
