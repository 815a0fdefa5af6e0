"""The issue's proof, walked in headless Chromium over the one web server people use (clients' portal + staff
register) on a real pipeline: a client on a 360 px phone opens their link, asks for the code (it arrives on a real
SMTP server on loopback), signs, downloads the signed copy, declines another, hits an error page and checks a file
on /verify; staff at desktop width log in, list, filter, open documents, act and run a bulk action. Every page's
visible text is collected and no English word of the list below may show on it in pt-BR (data - names, titles,
addresses, codes - is taken out first: it is what it is in any language)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import Browser, BrowserContext, Page, expect

from esign.crm.local import LocalCrm
from esign.model import Stage
from esign.pipeline import collect
from esign.pipeline.final_copy import send_final_copies
from esign.requests import SigningRequest
from esign.requests.schema import signing_requests
from esign.rules.config import load_rules
from esign.rules.engine import evaluate
from esign.store import DocumentRecord
from esign.web import web_app
from tests.browser.conftest import browser, playwright  # noqa: F401
from tests.pipeline.conftest import client_declines, pipe  # noqa: F401
from tests.register.conftest import PASSWORDS, Desk, desk  # noqa: F401
from tests.security.conftest import serve
from tests.support import PROJECT_DIR

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

#: English a pt-BR reader must never meet: interface words, stage/event/actor codes, sentence glue.
ENGLISH_WORDS = (
    "Sign", "Signed", "Signature", "Download", "Document", "Documents", "Status", "Sent", "Declined", "Decline",
    "Error", "Page", "Search", "Reason", "Expires", "Expired", "Completed", "Canceled", "Cancel", "Resend",
    "Extend", "Submit", "Back", "Next", "Previous", "Password", "Log in", "Log out", "Sign in", "Verify", "Upload",
    "Name", "Date", "Client", "Manager", "Stage", "Batch", "Actions", "Channel", "Filter", "Apply", "Clear",
    "Select", "Selected", "Skipped", "Done", "Reminder", "Invitation", "Code", "Confirm", "Authentic", "History",
    "created", "company_signed", "code_sent", "code_verified", "client_signed", "pipeline", "verified",
    "rule_fired", "auto-approve", "approved", "viewed", "final_copy_sent", "reminder_queued", "resent",
    "the", "your", "please", "and", "with", "not", "this", "has", "been", "was", "for", "from", "by",
)
_ENGLISH = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in ENGLISH_WORDS) + r")(?![\w-])",
                      re.IGNORECASE)
_CODE = re.compile(r"\b(\d{6})\b")
_URL = re.compile(r"https?://\S+")
_MARKER = re.compile(r"\[esign:[^\]]+\]")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")  # a machine's timestamp instead of the reader's date and zone


class Walk:
    """The pages seen, with the English found on each."""

    def __init__(self, data: list[str]) -> None:
        self.data = sorted({d for d in data if d}, key=len, reverse=True)
        self.found: dict[str, list[str]] = {}
        self.pages = 0

    def check(self, text: str, where: str) -> None:
        cleaned = _URL.sub(" ", text)  # an address is data too
        for value in self.data:
            cleaned = cleaned.replace(value, " ")
        words = sorted({m.group(0) for m in _ENGLISH.finditer(cleaned)} | set(_ISO.findall(cleaned)))
        if words:
            self.found[where] = words

    def look(self, page: Page, what: str) -> str:
        page.wait_for_load_state()
        text = page.evaluate("document.body.innerText")
        self.pages += 1
        self.check(text, f"{what} ({page.url})")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert page.viewport_size and width <= page.viewport_size["width"], f"{what}: {width} px wide"
        return str(text)


def _data(desk: Desk) -> list[str]:  # noqa: F811
    """What the pages show as data: parties, titles, addresses, users, IDs (any language)."""
    ws = desk.pipe.ws
    values = [ws.company.party.name, ws.company.director_name, ws.company.director_title, "Maria", "Ana"]
    for record in ws.ledger.bulk.get_many([r.id for r in desk.sent()] + [desk.done.id]).values():
        values += [record.title, record.counterparty_name, record.counterparty_contact, record.counterparty_email,
                   record.counterparty_phone, record.manager_email, record.template_id, record.id]
    values += [str(getattr(ws.company, name, "")) for name in ("email", "phone", "final_copy_to")]
    return [str(v) for v in values if v]


@pytest.fixture
def site(desk: Desk) -> Iterator[str]:  # noqa: F811
    with serve(web_app(desk.services)) as url:
        yield url


def _phone(browser: Browser) -> BrowserContext:  # noqa: F811
    return browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                               locale="pt-BR")


def _by_email(desk: Desk, skip: set[str]) -> tuple[DocumentRecord, SigningRequest]:  # noqa: F811
    for record in desk.sent():
        request = desk.services.requests.for_document(record.id)
        if record.id not in skip and request is not None and request.channel == "email":
            return record, request
    raise AssertionError("no document sent by e-mail")


def _code_for(desk: Desk, destination: str) -> str:  # noqa: F811
    texts = [m.text for m in desk.pipe.messages() if destination.lower() in m.header("To").lower()]
    codes = [found.group(1) for text in texts for found in [_CODE.search(text)] if found]
    assert codes, f"no code reached {destination}"
    return codes[-1]


def _confirm_code(page: Page, desk: Desk, request: SigningRequest, walk: Walk,  # noqa: F811
                  button: str) -> None:
    page.click(button)
    page.wait_for_selector("#code")
    walk.look(page, "code page")
    page.fill("#code", _code_for(desk, request.destination))
    page.click("text=Confirmar")


def _draw(page: Page) -> None:
    box = page.locator("#pad").bounding_box()
    assert box
    x, y = box["x"] + 30, box["y"] + box["height"] * 0.6
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 20):
        page.mouse.move(x + step * 8, y - 30 * ((step % 5) / 5), steps=2)
    page.mouse.up()


def test_a_client_on_a_phone_meets_no_english(site: str, browser: Browser, desk: Desk,  # noqa: F811
                                              tmp_path: Path) -> None:
    services, walk = desk.services, Walk(_data(desk))
    context = _phone(browser)
    page = context.new_page()

    signer, request = _by_email(desk, {desk.mine.id})
    link = services.requests.link_for(request, site)
    page.goto(link)
    walk.look(page, "link page")
    _confirm_code(page, desk, request, walk, "#sign-start")
    page.wait_for_selector("#pad")
    walk.look(page, "sign page")
    page.fill("#typed_name", "Ana Souza")
    _draw(page)
    page.check("#consent")
    page.click("#sign-submit")
    page.wait_for_selector("#done")
    walk.look(page, "done page")
    assert services.ws.ledger.get(signer.id).stage is Stage.CLIENT_SIGNED

    done_request = services.requests.for_document(desk.done.id)
    assert done_request is not None
    page.goto(services.requests.link_for(done_request, site))
    page.wait_for_selector("#download-final")
    walk.look(page, "signed document, download")

    decliner, decline_request = _by_email(desk, {desk.mine.id, signer.id})
    decline_link = services.requests.link_for(decline_request, site)
    page.goto(decline_link)
    page.click("#decline-start")
    page.wait_for_selector("#code")
    page.fill("#code", "000000" if _code_for(desk, decline_request.destination) != "000000" else "111111")
    page.click("text=Confirmar")
    page.wait_for_selector(".notice.error")
    walk.look(page, "wrong code")
    page.fill("#code", _code_for(desk, decline_request.destination))
    page.click("text=Confirmar")
    page.wait_for_selector("#reason")
    walk.look(page, "decline page")
    page.fill("#reason", "O prazo de pagamento não é o combinado.")
    page.click("#decline-submit")
    page.wait_for_selector("#done")
    walk.look(page, "declined")
    page.goto(decline_link)
    walk.look(page, "link of a declined document")
    _, expiring_request = _by_email(desk, {desk.mine.id, signer.id, decliner.id})
    with services.ws.engine.begin() as conn:
        conn.execute(signing_requests.update().where(signing_requests.c.id == expiring_request.id)
                     .values(expires_at=datetime.now(UTC) - timedelta(days=1)))
    page.goto(services.requests.link_for(expiring_request, site))
    walk.look(page, "expired link")
    page.goto(f"{site}/s/not-a-real-token")
    walk.look(page, "error page (unknown link)")
    page.goto(f"{link}/sign")
    walk.look(page, "GET on a form address")

    page.goto(f"{site}/verify")
    walk.look(page, "verify upload")
    page.set_input_files("#file", str(services.ws.version_path("final", desk.done.id)))
    page.click("button[type=submit]")
    page.locator("#verdict").wait_for()
    assert page.locator("#verdict").get_attribute("data-status") == "authentic"
    walk.look(page, "verify result (authentic)")
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.goto(f"{site}/verify")
    page.set_input_files("#file", str(other))
    page.click("button[type=submit]")
    page.locator("#verdict").wait_for()
    walk.look(page, "verify result (unknown file)")
    page.goto(f"{site}/verify")
    page.set_input_files("#file", files=[{"name": "notas.pdf", "mimeType": "application/pdf",
                                          "buffer": b"isto nao e um PDF"}])
    page.click("button[type=submit]")
    walk.look(page, "verify with a file that is not a PDF")
    for doc_id in (desk.done.id, decliner.id):
        page.goto(f"{site}/verify/{doc_id}")
        walk.look(page, f"verification page of {doc_id}")
    assert send_final_copies(services).get("sent")  # the completed document's copy to its client and manager
    demo_rules = load_rules(PROJECT_DIR / "config" / "rules.demo.yaml")
    assert evaluate(services, demo_rules).get("fired")  # the decline reaches the manager by e-mail
    assert collect.deliver_leftovers(services).get("sent")
    mail = desk.pipe.messages()
    subjects = " | ".join(m.header("Subject") for m in mail)
    assert "código" in subjects and "Assinado por todas as partes" in subjects and "recusado" in subjects, subjects
    for message in mail:  # what the clients and the manager received: invitations, codes, copies, the decline
        html = BeautifulSoup(message.html, "html.parser").get_text("\n") if message.html else ""
        walk.check(f"{message.header('Subject')}\n{message.text}\n{html}", f"e-mail {message.header('Subject')!r}")
    sms_file = desk.pipe.workdir / "sms" / "outbox.jsonl"
    sms = [json.loads(line) for line in sms_file.read_text("utf-8").splitlines()] if sms_file.exists() else []
    for record in sms:  # clients with an e-mail get e-mail: the SMS texts have their own tests (one GSM-7 segment)
        walk.check(str(record["text"]), f"SMS {record['text']!r}")
    page.goto(f"{link}?lang=en")  # the same walk does see English where it is asked for
    english = Walk(walk.data)
    english.look(page, "link page in English")
    assert english.found
    context.close()
    assert walk.pages >= 14
    assert not walk.found, walk.found


def test_staff_at_desktop_width_meet_no_english(site: str, browser: Browser, desk: Desk) -> None:  # noqa: F811
    walk = Walk(_data(desk))
    staff = f"{site}/staff"
    page = browser.new_page(viewport=DESKTOP, locale="pt-BR")
    dialogs: list[str] = []

    def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.goto(f"{staff}/")
    walk.look(page, "login")
    page.fill("#login", "dir")
    page.fill("#password", "errada")
    page.click("form[action$='/login'] button[type=submit]")
    walk.look(page, "login refused")
    page.fill("#login", "dir")
    page.fill("#password", PASSWORDS["dir"])
    page.click("form[action$='/login'] button[type=submit]")
    expect(page.locator("h1")).to_have_text("Documentos")
    walk.look(page, "list")
    page.select_option("#f-stage", label="Enviado")
    page.click("#apply")
    walk.look(page, "list filtered by stage")
    page.select_option("#f-stage", value="")
    page.fill("#f-from", "2026-03-02")
    page.fill("#f-to", "2026-03-01")
    page.click("#apply")
    expect(page.locator("#error-to")).to_be_visible()
    walk.look(page, "list with a bad date range")
    page.fill("#f-from", "")
    page.fill("#f-to", "")
    page.fill("#f-q", "nada-encontrado-aqui")
    page.click("#apply")
    walk.look(page, "search with no result")

    services = desk.services
    declined = next(r for r in desk.sent() if r.id not in (desk.mine.id, desk.other.id))
    client_declines(services, declined.id, reason="Valores diferentes do combinado.")
    send_final_copies(services)
    assert evaluate(services, load_rules(PROJECT_DIR / "config" / "rules.demo.yaml")).get("fired")
    quarantined = services.ws.ledger.list_by_stage(Stage.QUARANTINED)[0]
    for record in (desk.done, declined, quarantined, desk.mine):  # final copy, rule fired, quarantine reasons
        page.goto(f"{staff}/documents/{record.id}")
        walk.look(page, f"document page ({record.stage.value})")
    for action in ("rule_fired", "final_copy_sent", "declined"):
        assert any(e.action == action for r in (desk.done, declined) for e in services.ws.ledger.events(r.id))
    page.click("#resend")
    expect(page.locator("#notice")).to_be_visible()
    walk.look(page, "resend confirmed")
    page.fill("#days", "10")
    page.click("#extend")
    expect(page.locator("#notice")).to_contain_text("O link de assinatura agora vale até")
    walk.look(page, "extend confirmed")
    page.fill("#reason", "proposta revista")
    page.click("#cancel")
    expect(page.locator("#stage")).to_have_text("Cancelado")
    walk.look(page, "cancel confirmed")
    canceled_request = services.requests.for_document(desk.mine.id)
    assert canceled_request is not None
    phone = _phone(browser)
    client_page = phone.new_page()
    client_page.goto(services.requests.link_for(canceled_request, site))
    assert "cancelado" in walk.look(client_page, "the client's link of a canceled document").lower()
    phone.close()

    page.goto(f"{staff}/")
    page.check(f"#documents tr[data-id='{desk.other.id}'] input[name=doc]")
    page.check(f"#documents tr[data-id='{desk.done.id}'] input[name=doc]")
    walk.look(page, "list with a selection")
    page.click("#bulk-resend")
    expect(page.locator("#summary")).to_be_visible()
    walk.look(page, "bulk result")
    export = page.request.get(f"{staff}/export.csv")  # with the session's cookie, as the link on the list
    assert export.ok and export.headers["content-type"].startswith("text/csv")
    walk.check(export.text(), "CSV export")
    page.goto(f"{staff}/documents/DOC-NAOEXISTE0000")
    walk.look(page, "unknown document")
    page.close()
    crm = LocalCrm(services.ws.engine)
    comments = [c.text for r in (desk.done, declined, quarantined, desk.mine) for c in crm.comments(int(r.deal_id))]
    assert len(comments) >= 4
    for text in comments:  # what the sales team reads on the deals' timelines, but the write-back's own marker
        walk.check(_MARKER.sub(" ", text), f"CRM comment {text!r}")  # ([esign:DOC-…:signed]: exactly-once key)
    for message in dialogs:  # the browser's confirmation before an action that reaches a client
        found = {m.group(0) for m in _ENGLISH.finditer(message)}
        assert not found, (message, found)
    assert walk.pages >= 13
    assert not walk.found, walk.found
