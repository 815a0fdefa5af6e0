"""The public verification page in headless Chromium: a phone uploads the completed PDF, then the company-signed
version from the invitation e-mail; the verdicts, their colours and the trusted time are what a person sees."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from esign.portal.app import create_app
from esign.portal.services import PortalServices, PortalSettings
from esign.requests import SigningRequests
from esign.verify import verify_untrusted
from esign.workspace import Workspace
from tests.browser.conftest import serving
from tests.support import CodeRecorder, complete_document, make_deal


@pytest.fixture(scope="module")
def completed(core_ws: Workspace) -> tuple[str, Path]:
    doc_id = complete_document(core_ws, make_deal("browser-verify-1"))
    return doc_id, core_ws.version_path("final", doc_id)


@pytest.fixture
def verify_site(core_ws: Workspace, tmp_path: Path) -> Iterator[str]:
    def build(base_url: str) -> object:
        settings = PortalSettings(public_url=base_url, documents_dir=core_ws.settings.documents_dir,
                                  cache_dir=tmp_path / "cache", company_name="Aurora Serviços Digitais Ltda.")
        requests = SigningRequests(core_ws.engine, core_ws.ledger, secrets.token_bytes(32))
        return create_app(PortalServices(ledger=core_ws.ledger, requests=requests, sender=CodeRecorder(),
                                         settings=settings, verify=verify_untrusted,
                                         trust_roots=tuple(core_ws.trust_roots)))

    with serving(build) as base_url:
        yield base_url


def _check(browser: Browser, base_url: str, path: Path) -> tuple[str, str, str]:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page.goto(f"{base_url}/verify")
        page.set_input_files("#file", str(path))
        page.click("button[type=submit]")
        verdict = page.locator("#verdict")
        verdict.wait_for()
        colour = verdict.evaluate("e => getComputedStyle(e).backgroundColor")
        return str(verdict.get_attribute("data-status")), page.inner_text("main"), str(colour)
    finally:
        page.close()


def test_completed_and_intermediate_versions_on_a_phone(browser: Browser, verify_site: str, core_ws: Workspace,
                                                        completed: tuple[str, Path]) -> None:
    doc_id, final = completed
    status, text, green = _check(browser, verify_site, final)
    assert status == "authentic" and "Documento autêntico" in text and doc_id in text
    assert "Selado em (hora confiável)" in text and "(UTC-03:00)" in text
    assert "certificado (nenhuma alteração permitida): sim" in text
    company_signed = core_ws.version_path("company_signed", doc_id)
    status, text, amber = _check(browser, verify_site, company_signed)
    assert status == "incomplete" and "Versão intermediária" in text and "Documento autêntico" not in text
    assert "Situação atual do documento: Concluído" in text
    assert green != amber and green == "rgb(231, 246, 238)" and amber == "rgb(255, 244, 220)"
