"""A client on a 360 px phone: open the link, confirm the code, draw with mouse and finger, sign or decline."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page

from esign.model import Stage
from esign.store import EventInfo, sha256_hex

if TYPE_CHECKING:
    from conftest import Site

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def _phone(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                               locale="pt-BR", user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 7) Mobile Safari")


def _watch(page: Page) -> list[str]:
    """Console errors (a CSP violation would show up here)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def _confirm_code(page: Page, site: Site, button: str) -> None:
    page.click(button)
    page.wait_for_selector("#code")
    assert "a***@example.com" in page.inner_text("main")
    page.fill("#code", site.recorder.last_code)
    page.click("text=Confirmar")


def _draw_with_mouse(page: Page) -> None:
    box = page.locator("#pad").bounding_box()
    assert box
    x, y = box["x"] + 30, box["y"] + box["height"] * 0.6
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x + step * 6, y - 40 * ((step % 6) / 6), steps=2)
    page.mouse.up()


def _draw_with_finger(page: Page) -> None:
    box = page.locator("#pad").bounding_box()
    assert box
    cdp = page.context.new_cdp_session(page)
    x0, y0 = box["x"] + 180, box["y"] + 50

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", x0, y0)
    for step in range(1, 20):
        touch("touchMove", x0 + step * 5, y0 + step * 4)
    touch("touchEnd", 0, 0)


def test_sign_on_a_phone(browser: Browser, site: Site, tmp_path: Path) -> None:
    link, request = site.new_link()
    context = _phone(browser)
    page = context.new_page()
    problems = _watch(page)
    page.goto(link)
    assert page.title().startswith("Contrato de prestação de serviços")
    page.wait_for_function("document.querySelector('.page img').naturalWidth > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert site.ledger.get(request.document_id).stage is Stage.VIEWED
    page.screenshot(path=str(tmp_path / "document-page.png"))  # the first screen, with the sticky buttons

    _confirm_code(page, site, "#sign-start")
    page.wait_for_selector("#pad")
    page.fill("#typed_name", "Ana Souza")
    _draw_with_mouse(page)
    _draw_with_finger(page)
    drawn = page.input_value("#drawn_png")
    assert drawn.startswith("data:image/png;base64,")
    page.check("#consent")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot = tmp_path / "sign-page.png"
    page.screenshot(path=str(shot), full_page=True)
    page.click("#sign-submit")
    page.wait_for_selector("#done")
    assert "Documento assinado" in page.inner_text("#done")
    assert problems == []

    assert site.ledger.get(request.document_id).stage is Stage.CLIENT_SIGNED
    evidence = site.requests.evidence(request.document_id)[0]
    assert evidence.typed_name == "Ana Souza" and evidence.ip == "127.0.0.1" and "Pixel 7" in evidence.user_agent
    assert evidence.drawn_png is not None
    with Image.open(io.BytesIO(evidence.drawn_png)) as image:
        alpha = image.getchannel("A")
        inked = sum(1 for value in alpha.getdata() if value > 0)
        assert image.format == "PNG" and inked > 300  # both strokes made it
        left, right = alpha.crop((0, 0, image.width // 3, image.height)), alpha.crop(
            (image.width // 2, 0, image.width, image.height))
        assert left.getbbox() is not None and right.getbbox() is not None  # mouse stroke left, finger right
    context.close()


def test_decline_on_a_phone(browser: Browser, site: Site) -> None:
    link, request = site.new_link(title="Aditivo contratual")
    context = _phone(browser)
    page = context.new_page()
    problems = _watch(page)
    page.goto(link)
    _confirm_code(page, site, "#decline-start")
    page.wait_for_selector("#reason")
    page.fill("#reason", "O prazo de pagamento não é o combinado.")
    page.click("#decline-submit")
    page.wait_for_selector("#done")
    assert "Recusa registrada" in page.inner_text("#done")
    assert problems == []
    assert site.ledger.get(request.document_id).stage is Stage.DECLINED
    page.goto(link)
    assert "recusado" in page.inner_text("#error")
    context.close()


def test_the_signed_document_downloads_on_a_phone(browser: Browser, site: Site, tmp_path: Path) -> None:
    link, request = site.new_link(title="Contrato de prestação de serviços de manutenção preventiva nº 2026/000123")
    site.requests.issue_code(request, site.recorder, "127.0.0.1", "pytest")
    site.requests.check_code(request, site.recorder.last_code, "127.0.0.1", "pytest")
    site.requests.sign(site.requests.get(request.id), "Ana Souza", None, True, "127.0.0.1", "pytest")
    final = site.documents_dir / f"final-{request.document_id}.pdf"  # what the seal step writes and records
    final.write_bytes((site.documents_dir / f"{request.document_id}.pdf").read_bytes() + b"\n%sealed\n")
    data = final.read_bytes()
    site.ledger.add_version(request.document_id, "final", sha256=sha256_hex(data), path=str(final), size=len(data))
    site.ledger.move(request.document_id, Stage.COMPLETED, "completed", EventInfo(actor="pipeline"))

    context = _phone(browser)
    page = context.new_page()
    problems = _watch(page)
    page.goto(link)  # the same link, after the seal: no 409, the signed document to keep
    assert page.title().startswith("Documento assinado")
    assert "Documento assinado" in page.inner_text("#done") and "(UTC-03:00)" in page.inner_text("#done")
    assert page.inner_text("#final-sha256") == sha256_hex(data)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "a long SHA-256 wraps"
    button = page.locator("#download-final")
    box = button.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"] and box["height"] >= 44  # a thumb-sized button
    with page.expect_download() as download:
        button.click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == data, "the sealed final file"
    page.screenshot(path=str(tmp_path / "signed-page.png"), full_page=True)
    assert problems == []
    context.close()
