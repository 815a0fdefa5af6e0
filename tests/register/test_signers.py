"""A document with several signers in the register: every signer and copy on its page with their state, contacts
in full only for who may see the parties; resend, extend and cancel act on each signer's own link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from esign.model import Stage
from esign.model.signers import SignerRole, SignerSpec, SigningOrder, arrange
from esign.pipeline.services import Services
from esign.register.resend import current_request
from esign.requests import SigningRequest
from esign.requests.schema import signing_requests
from esign.store import DocumentRecord, EventInfo
from tests.register.conftest import Desk
from tests.support import CodeRecorder

PEOPLE = [SignerSpec(0, SignerRole.SIGNER, "Ana Souza", email="ana.socia@example.com"),
          SignerSpec(0, SignerRole.SIGNER, "Bruno Lima", email="bruno.socio@example.com"),
          SignerSpec(0, SignerRole.WITNESS, "Carla Dias", tax_id="52998224725", email="carla.testemunha@example.com"),
          SignerSpec(0, SignerRole.COPY, "Jurídico", email="juridico@example.com")]


def _sent(desk: Desk) -> tuple[DocumentRecord, dict[int, SigningRequest]]:
    """A sent document (Ana's manager's) whose three signing people each hold a link."""
    services = desk.services
    record, _ = services.ws.ledger.create_document(
        deal_id="multi-1", template_id="contrato_servicos", title="Acordo de sócios", counterparty_name="Cliente Ltda",
        manager_id=desk.mine.manager_id, signers=arrange(PEOPLE, SigningOrder.PARALLEL))
    services.ws.ledger.move(record.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Maria Diretora"))
    services.ws.ledger.move(record.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="email"))
    expires = datetime.now(UTC) + timedelta(days=14)
    requests = {s.position: services.requests.create(record.id, "email", s.email, expires, signer=s.position)
                for s in record.signers if s.signs}
    return services.ws.ledger.get(record.id), requests


def _sign(services: Services, request: SigningRequest, name: str) -> None:
    recorder = CodeRecorder()
    services.requests.issue_code(request, recorder, "198.51.100.4", "pytest")
    services.requests.check_code(request, recorder.last_code, "198.51.100.4", "pytest")
    services.requests.sign(services.requests.get(request.id), name, None, True, "198.51.100.4", "pytest")


def _rows(page: str) -> dict[int, tuple[str, str]]:
    table = page[page.index('id="signers"'):]
    table = table[:table.index("</table>")]
    return {int(m.group(1)): (m.group(2), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(3))).strip())
            for m in re.finditer(r'<tr data-position="(\d+)" data-state="(\w+)">(.*?)</tr>', table, re.S)}


def test_the_page_lists_every_signer_and_copy_with_their_state(desk: Desk) -> None:
    record, requests = _sent(desk)
    _sign(desk.services, requests[1], "Ana Maria Souza")
    with desk.services.ws.engine.begin() as conn:  # Bruno opened his link
        conn.execute(signing_requests.update().where(signing_requests.c.id == requests[2].id)
                     .values(viewed_at=datetime.now(UTC)))
    page = desk.client("dir").get(f"/staff/documents/{record.id}").text
    rows = _rows(page)
    assert [(n, state) for n, (state, _) in rows.items()] == [(1, "signed"), (2, "viewed"), (3, "invited"),
                                                               (4, "copy")]
    assert "Signatário" in rows[1][1] and "Ana Maria Souza" in rows[1][1] and "Assinou" in rows[1][1]
    assert "ana.socia@example.com" in rows[1][1]  # the director may see the parties: in full
    assert "Abriu o documento" in rows[2][1] and "Reenviar link" in rows[2][1]
    assert "Testemunha" in rows[3][1] and "Carla Dias" in rows[3][1] and "Convidado" in rows[3][1]
    assert "Recebe uma cópia" in rows[4][1] and "Recebe o PDF final assinado" in rows[4][1]
    assert 'id="resend-1"' not in page and 'id="resend-2"' in page and 'id="resend-3"' in page
    masked = desk.client("leitor").get(f"/staff/documents/{record.id}").text
    for address in ("ana.socia@", "bruno.socio@", "carla.testemunha@", "juridico@"):
        assert address not in masked, address
    assert "b***@example.com" in _rows(masked)[2][1]
    assert '<span id="link-signer">Bruno Lima</span>' in page  # the link section says whose link it shows
    items = desk.client("dir").get("/staff/api/documents", params={"q": record.id}).json()["items"]
    assert [i["signers"] for i in items if i["id"] == record.id] == [[
        {"position": 1, "role": "signer", "state": "signed", "signed_at": requests_signed_at(desk, requests[1])},
        {"position": 2, "role": "signer", "state": "viewed", "signed_at": None},
        {"position": 3, "role": "witness", "state": "invited", "signed_at": None}]]


def requests_signed_at(desk: Desk, request: SigningRequest) -> str:
    signed = desk.services.requests.get(request.id).signed_at
    assert signed is not None
    return signed.isoformat()


def test_a_resend_goes_to_the_signer_named_and_without_one_to_the_first_open_link(desk: Desk) -> None:
    record, requests = _sent(desk)
    client = desk.client("dir")
    page = f"/staff/documents/{record.id}"
    assert desk.post(client, f"{page}/resend", {"signer": "3"}, page=page).status_code == 303
    notice = client.get(page).text
    assert "Link reenviado a Carla Dias." in notice
    resends = [e for e in desk.services.outbox.entries(document_id=record.id) if e.dedupe_key.startswith("resend:")]
    assert [(e.request_id, e.destination) for e in resends] == [(requests[3].id, "carla.testemunha@example.com")]
    _sign(desk.services, requests[1], "Ana Souza")  # the latest request is the witness's; the first open is Bruno's
    current = current_request(desk.services, desk.services.ws.ledger.get(record.id))
    assert current is not None and current.id == requests[2].id
    assert desk.post(client, f"{page}/resend", page=page).status_code == 303
    resends = [e for e in desk.services.outbox.entries(document_id=record.id) if e.dedupe_key.startswith("resend:")]
    assert {e.destination for e in resends} == {"carla.testemunha@example.com", "bruno.socio@example.com"}
    refused = desk.post(client, f"{page}/resend", {"signer": "1"}, page=page)  # Ana signed: her link is closed
    assert refused.status_code == 409


def test_extend_pushes_every_open_link_and_cancel_tells_every_signer_with_one(desk: Desk) -> None:
    record, requests = _sent(desk)
    _sign(desk.services, requests[1], "Ana Souza")
    client = desk.client("dir")
    page = f"/staff/documents/{record.id}"
    assert desk.post(client, f"{page}/extend", {"days": "5"}, page=page).status_code == 303
    for position in (2, 3):
        request = desk.services.requests.get(requests[position].id)
        assert request.expires_at >= requests[position].expires_at + timedelta(days=5) - timedelta(seconds=1)
    assert desk.post(client, f"{page}/cancel", {"reason": "sócios desistiram"}, page=page).status_code == 303
    notices = [e for e in desk.services.outbox.entries(document_id=record.id) if e.kind == "notice"]
    assert sorted(e.destination for e in notices) == ["bruno.socio@example.com", "carla.testemunha@example.com"]
    assert len({e.dedupe_key for e in notices}) == 2
    assert desk.services.ws.ledger.get(record.id).stage is Stage.CANCELED


def test_the_list_and_its_export_say_how_many_signers_signed(desk: Desk) -> None:
    record, requests = _sent(desk)
    _sign(desk.services, requests[2], "Bruno Lima")
    listing = desk.client("dir").get("/staff/", params={"q": record.id}).text
    assert "1 de 3 assinaturas" in listing
    export = desk.client("dir").get("/staff/export.csv", params={"q": record.id})
    assert export.status_code == 200, export.text[:300]
    header, line = export.content.decode("utf-8-sig").splitlines()[:2]
    assert header.split(";")[-1] == "Assinaturas" and line.split(";")[-1] == "1 de 3 assinaturas"
