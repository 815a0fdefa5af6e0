"""Two client signers on a phone: the second opens their own link once the first signed, confirms the code sent to
their own address, finds their name in the form, signs, and reads that they signed as the second of two with the
first one's signature already recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser

from esign.model import Stage
from esign.model.signers import SignerRole, SignerSpec, SigningOrder, arrange
from esign.store import EventInfo, sha256_hex
from tests.support import make_pdf

if TYPE_CHECKING:
    from conftest import Site

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
PARTNERS = [SignerSpec(0, SignerRole.SIGNER, "Ana Souza", email="ana.souza@example.com"),
            SignerSpec(0, SignerRole.SIGNER, "Bruno Lima", email="bruno.lima@example.com")]


def test_the_second_signer_signs_on_their_own_link(browser: Browser, site: Site) -> None:
    doc, _ = site.ledger.create_document(deal_id="partners", template_id="contrato", title="Acordo de sócios",
                                         counterparty_name="Cliente Ltda",
                                         signers=arrange(PARTNERS, SigningOrder.SEQUENTIAL))
    data = make_pdf(site.documents_dir / f"{doc.id}.pdf", 1)
    site.ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Maria Diretora"))
    site.ledger.add_version(doc.id, "company_signed", sha256=sha256_hex(data), path=str(site.documents_dir /
                                                                                     f"{doc.id}.pdf"), size=len(data))
    site.ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="email"))
    expires = datetime.now(UTC) + timedelta(days=14)
    first = site.requests.create(doc.id, "email", "ana.souza@example.com", expires, signer=1)
    site.requests.issue_code(first, site.recorder, "127.0.0.1", "pytest")
    site.requests.check_code(first, site.recorder.last_code, "127.0.0.1", "pytest")
    site.requests.sign(site.requests.get(first.id), "Ana Souza", None, True, "127.0.0.1", "pytest")
    second = site.requests.create(doc.id, "email", "bruno.lima@example.com", expires, signer=2)

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="pt-BR")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(site.requests.link_for(second, site.base_url))
    assert "Você assina como signatário · assinatura 2 de 2" in page.inner_text("#my-role")
    assert "Ana Souza" in page.inner_text("#other-signers") and "Assinou" in page.inner_text("#other-signers")
    assert "ana.souza" not in page.content() and "a***@example.com" not in page.content()
    page.click("#sign-start")
    page.wait_for_selector("#code")
    assert "b***@example.com" in page.inner_text("main")  # the code goes to Bruno's own address
    page.fill("#code", site.recorder.last_code)
    page.click("text=Confirmar")
    page.wait_for_selector("#typed_name")
    assert page.input_value("#typed_name") == "Bruno Lima"  # his own name, not the client company's contact
    page.check("#consent")
    page.click("#sign-submit")
    page.wait_for_selector("#done")
    assert "Documento assinado" in page.inner_text("#done")
    role = page.inner_text("#my-role")
    assert "Bruno Lima" in role and "Você assina como signatário" in role and "assinatura 2 de 2" in role
    other = page.locator('#other-signers li[data-position="1"]')
    assert other.get_attribute("data-state") == "signed"
    assert "Ana Souza" in other.inner_text() and "Assinou" in other.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert problems == []
    context.close()

    assert site.ledger.get(doc.id).stage is Stage.CLIENT_SIGNED  # the last required signature moves the document
    assert [(e.position, e.signer_name) for e in site.requests.evidence(doc.id)] == [(1, "Ana Souza"),
                                                                                     (2, "Bruno Lima")]
