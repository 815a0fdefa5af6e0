"""The staff register in headless Chromium, at desktop width and on a 360 px phone: Portuguese throughout, the
portal's look, filters, a document's page, actions that act and confirm, bulk results, nothing wider than the
screen, and no action offered where it is not allowed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page, expect

from esign.i18n.extract import LOCALE_DIR
from esign.model import Stage
from esign.register.app import create_register_app
from tests.browser.conftest import browser, playwright  # noqa: F401
from tests.pipeline.conftest import pipe  # noqa: F401
from tests.register.conftest import PASSWORDS, Desk, desk  # noqa: F401
from tests.security.conftest import serve

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def _english_phrases() -> list[str]:
    """The register's English msgids of two words or more whose Portuguese differs: none may show in pt-BR."""
    found = []
    for domain in ("register", "model", "access"):
        with Path(LOCALE_DIR / "pt_BR" / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
            for message in read_po(handle, locale="pt_BR"):
                if isinstance(message.id, str) and message.id and message.string != message.id:
                    text = message.id.split("%(")[0].strip()
                    if len(text.split()) >= 2:
                        found.append(text)
    return found


ENGLISH = _english_phrases()


@pytest.fixture
def register_site(desk: Desk) -> Iterator[str]:  # noqa: F811
    with serve(create_register_app(desk.services)) as url:
        yield f"{url}/staff"


def _open(browser: Browser, viewport: dict[str, int]) -> Page:  # noqa: F811
    page = browser.new_page(viewport=viewport, locale="pt-BR")
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations before actions that reach clients
    return page


def _login(page: Page, register_site: str, user: str) -> None:
    page.goto(f"{register_site}/")
    expect(page).to_have_url(f"{register_site}/login")
    page.fill("#login", user)
    page.fill("#password", PASSWORDS[user])
    page.click("form[action$='/login'] button[type=submit]")
    expect(page.locator("h1")).to_have_text("Documentos")


def _fits(page: Page) -> None:
    """Nothing wider than the screen, and no English sentence of the register on it."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert page.viewport_size and width <= page.viewport_size["width"], f"{page.url} is {width} px wide"
    text = page.inner_text("body")
    leaked = [phrase for phrase in ENGLISH if phrase in text]
    assert not leaked, f"English on {page.url}: {leaked}"


def test_desktop_filter_open_act_and_confirm(register_site: str, browser: Browser, desk: Desk) -> None:  # noqa: F811
    page = _open(browser, DESKTOP)
    _login(page, register_site, "dir")
    _fits(page)
    expect(page.locator("link[href$='/static/portal/portal.css']")).to_have_count(1)  # the portal's look
    page.select_option("#f-stage", label="Concluído")
    page.click("#apply")
    rows = page.locator("#documents tbody tr[data-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Concluído")
    page.fill("#f-q", desk.mine.counterparty_name.split()[0].lower())
    page.select_option("#f-stage", value="")
    page.click("#apply")
    expect(page.locator(f"#documents tr[data-id='{desk.mine.id}']")).to_have_count(1)
    page.click(f"text={desk.mine.id}")
    expect(page.locator("#doc-id")).to_have_text(desk.mine.id)
    expect(page.locator("#stage")).to_have_text("Enviado")
    expect(page.locator("#link-expiry")).to_contain_text("(UTC-03:00)")
    expect(page.locator("#messages")).to_contain_text("Convite")
    _fits(page)
    page.click("#resend")
    expect(page.locator("#notice")).to_contain_text("Link reenviado ao cliente. O servidor aceitou a mensagem em")
    page.click("#resend")
    expect(page.locator("#notice")).to_contain_text("já tinha sido reenviado")
    page.fill("#days", "10")
    page.click("#extend")
    expect(page.locator("#notice")).to_contain_text("O link de assinatura agora vale até")
    page.fill("#reason", "proposta revista")
    page.click("#cancel")
    expect(page.locator("#notice")).to_contain_text("Documento cancelado")
    expect(page.locator("#stage")).to_have_text("Cancelado")
    expect(page.locator("#actions")).to_contain_text("Nenhuma ação disponível")
    _fits(page)
    assert desk.pipe.ws.ledger.get(desk.mine.id).stage is Stage.CANCELED
    page.close()


def test_phone_list_bulk_and_document(register_site: str, browser: Browser, desk: Desk) -> None:  # noqa: F811
    page = _open(browser, PHONE)
    _login(page, register_site, "dir")
    _fits(page)
    expect(page.locator("#selected")).to_have_text("Nenhum documento selecionado")
    page.check(f"#documents tr[data-id='{desk.other.id}'] input[name=doc]")
    page.check(f"#documents tr[data-id='{desk.done.id}'] input[name=doc]")
    expect(page.locator("#selected")).to_have_text("Selecionados: 2")
    page.click("#bulk-resend")
    expect(page.locator("#summary")).to_have_text("Feitos: 1 · ignorados: 1")
    expect(page.locator("#skipped")).to_contain_text("aguardando a assinatura do cliente")
    _fits(page)
    page.click("text=Voltar aos documentos")
    page.fill("#f-from", "2026-03-02")
    page.fill("#f-to", "2026-03-01")
    page.click("#apply")
    expect(page.locator("#error-to")).to_contain_text("é anterior à data inicial")
    _fits(page)
    page.goto(f"{register_site}/documents/{desk.other.id}")
    expect(page.locator("#messages")).to_contain_text("Lembrete ou reenvio")
    _fits(page)
    page.close()


def test_phone_reader_is_offered_no_action(register_site: str, browser: Browser, desk: Desk) -> None:  # noqa: F811
    page = _open(browser, PHONE)
    _login(page, register_site, "leitor")
    expect(page.locator("#bulk-cancel")).to_have_count(0)
    expect(page.locator("#bulk-resend")).to_have_count(0)
    page.goto(f"{register_site}/documents/{desk.done.id}")
    expect(page.locator("#actions")).to_contain_text("Nenhuma ação disponível para você")
    expect(page.locator("#no-download")).to_be_visible()
    _fits(page)
    page.close()
