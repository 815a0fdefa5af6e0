"""The translator: language negotiation, catalogue lookup per reader, dates with their zone, money by locale."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import jinja2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from esign.errors import ConfigError
from esign.i18n import N_, negotiate_locale, translator
from esign.i18n import catalog as catalog_module
from esign.i18n.jinja import install
from tests.i18n.template_text import untranslated_text


@pytest.mark.parametrize(("requested", "expected"), [
    (None, "pt_BR"), ("", "pt_BR"), ("pt-BR", "pt_BR"), ("pt_br", "pt_BR"), ("pt", "pt_BR"), ("pt_PT", "pt_BR"),
    ("EN", "en"), ("en-US", "en"), ("es_AR", "es"), ("de", "pt_BR"), ("xx-invalid", "pt_BR"),
])
def test_negotiation_falls_back_to_the_company_language(requested: str | None, expected: str) -> None:
    assert negotiate_locale(requested) == expected


def test_unknown_time_zone_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        translator("pt_BR", "Mars/Olympus")


def test_dates_are_local_with_the_offset_shown() -> None:
    moment = datetime(2026, 12, 18, 18, 11, 5, tzinfo=UTC)
    assert translator("pt_BR").format_datetime(moment) == "18/12/2026 15:11 (UTC-03:00)"
    assert translator("pt_BR").format_datetime(moment, seconds=True) == "18/12/2026 15:11:05 (UTC-03:00)"
    assert translator("pt_BR", "UTC").format_datetime(moment) == "18/12/2026 18:11 (UTC+00:00)"
    assert translator("es").format_datetime(moment) == "18/12/2026 15:11 (UTC-03:00)"
    assert translator("en").format_datetime(moment).startswith("12/18/2026 3:11")
    naive = datetime(2026, 12, 18, 18, 11, 5)  # the ledger's UTC without tzinfo
    assert translator().format_datetime(naive) == "18/12/2026 15:11 (UTC-03:00)"
    assert translator().format_date(date(2026, 3, 1), long=True) == "1 de março de 2026"
    assert translator().format_date(moment) == "18/12/2026"


def test_money_and_numbers_follow_the_locale() -> None:
    assert translator("pt_BR").format_money(Decimal("1234.5")) == "R$\xa01.234,50"
    assert translator("en").format_money(Decimal("1234.5")) == "R$1,234.50"
    assert translator("pt_BR").format_number(1234567) == "1.234.567"
    assert translator("pt_BR").format_number(3.14159, decimals=2) == "3,14"
    assert translator("pt_BR").format_percent(0.253) == "25%"


@pytest.fixture
def sample_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary locale folder with one domain translated to pt-BR and es."""
    folder = tmp_path / "locale"
    strings = {
        "pt_BR": {"Sign": "Assinar", "Hello %(name)s": "Olá, %(name)s",
                  ("%(num)s document", "%(num)s documents"): ("%(num)s documento", "%(num)s de documentos",
                                                              "%(num)s documentos")},
        "es": {"Sign": "Firmar", "Hello %(name)s": "Hola, %(name)s",
               ("%(num)s document", "%(num)s documents"): ("%(num)s documento", "%(num)s de documentos",
                                                           "%(num)s documentos")},
    }
    for locale, entries in strings.items():
        catalog = Catalog(locale=locale, domain="sample")
        for msgid, msgstr in entries.items():
            catalog.add(msgid, msgstr)
        path = folder / locale / "LC_MESSAGES" / "sample.po"
        path.parent.mkdir(parents=True)
        with path.open("wb") as handle:
            write_po(handle, catalog)
    monkeypatch.setattr(catalog_module, "LOCALE_DIR", folder)
    catalog_module._translations.cache_clear()
    translator.cache_clear()
    yield folder
    catalog_module._translations.cache_clear()
    translator.cache_clear()


def test_each_reader_gets_their_language(sample_catalogue: Path) -> None:
    assert translator().gettext("Sign") == "Assinar"
    assert translator("es").gettext("Sign") == "Firmar"
    assert translator("en").gettext("Sign") == "Sign"  # no English file: the msgid is the text
    assert translator("pt_BR").gettext("Not in the catalogue") == "Not in the catalogue"
    assert translator("pt_BR").ngettext("%(num)s document", "%(num)s documents", 1) % {"num": 1} == "1 documento"
    assert translator("pt_BR").ngettext("%(num)s document", "%(num)s documents", 7) % {"num": 7} == "7 documentos"
    assert N_("Sign") == "Sign"


def test_one_jinja_environment_serves_several_languages_at_once(sample_catalogue: Path) -> None:
    env = install(jinja2.Environment(autoescape=True))
    template = env.from_string(
        '<p>{% trans %}\n   Sign\n{% endtrans %}</p><p>{{ _("Hello %(name)s", name=who) }}</p>'
        "<p>{% trans num=n %}{{ num }} document{% pluralize %}{{ num }} documents{% endtrans %}</p>")
    pt = template.render(who="<Ana>", n=2, **translator("pt_BR").jinja_context())
    es = template.render(who="Ana", n=1, **translator("es").jinja_context())
    default = template.render(who="Ana", n=1)
    assert pt == "<p>Assinar</p><p>Olá, &lt;Ana&gt;</p><p>2 documentos</p>"
    assert es == "<p>Firmar</p><p>Hola, Ana</p><p>1 documento</p>"
    assert default.startswith("<p>Assinar</p>")  # the company default when the render names no reader


def test_template_checker_finds_text_outside_translations(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text('<html><head><style>body{}</style><script>let x = "ok";</script></head>'
                    '<body><h1>{% trans %}Sign here{% endtrans %}</h1><p>{{ name }} · {{ amount }}</p>'
                    '<input type="submit" value="Enviar"><img alt="{{ _("Logo") }}">'
                    '<a title="Ajuda" href="{{ url }}">?</a><p>Documento {{ id }}</p></body></html>')
    assert untranslated_text(page) == ["<input value='Enviar'>", "<a title='Ajuda'>", "Documento"]
    text = tmp_path / "mail.txt"
    text.write_text("{% trans %}Hello{% endtrans %}\n{{ link }}\nAbraços\n")
    assert untranslated_text(text) == ["Abraços"]
