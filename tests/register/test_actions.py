"""Staff actions act: resend sends now (once per burst, a few a day), cancel reaches the CRM and the client,
extend shows the new expiry; each only where the stage and the person's rights allow, each confirmed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from esign.crm.local import LocalCrm
from esign.dispatch.outbox_schema import outbox
from esign.model import Stage
from esign.pipeline import writeback
from esign.pipeline.services import Services
from esign.register.actions import CANCEL_TARGET
from tests.register.conftest import Desk, csrf_of


def _to(desk: Desk, destination: str) -> list[str]:
    """Subjects of the messages the SMTP server received for ``destination``."""
    return [str(m.message["Subject"]) for m in desk.pipe.messages() if destination in str(m.message["To"])]


def _notice(client: TestClient, desk: Desk, doc_id: str) -> str:
    page = client.get(f"/staff/documents/{doc_id}").text
    start = page.find('id="notice"')
    assert start > 0, "no confirmation on the page"
    return page[start:page.find("</div>", start)]


def _age_resends(desk: Desk, minutes: int) -> None:
    """Move every resend ``minutes`` into the past (as if the person waited that long)."""
    with desk.pipe.ws.engine.begin() as conn:
        for entry in desk.services.outbox.entries():
            if entry.dedupe_key.startswith("resend:"):
                conn.execute(update(outbox).where(outbox.c.id == entry.id)
                             .values(created_at=entry.created_at - timedelta(minutes=minutes)))


def test_actions_are_offered_only_where_stage_and_rights_allow(desk: Desk) -> None:
    emp, reader, director = desk.client("emp"), desk.client("leitor"), desk.client("dir")
    mine = emp.get(f"/staff/documents/{desk.mine.id}").text
    assert all(f'id="{a}"' in mine for a in ("resend", "extend", "cancel"))
    seen = reader.get(f"/staff/documents/{desk.mine.id}").text
    assert not any(f'id="{a}"' in seen for a in ("resend", "extend", "cancel"))
    assert "Nenhuma ação disponível para você em um documento “Enviado”." in seen
    done = director.get(f"/staff/documents/{desk.done.id}").text
    assert not any(f'id="{a}"' in done for a in ("resend", "extend", "cancel"))
    assert "Nenhuma ação disponível para você em um documento “Concluído”." in done
    # and refused on the server all the same, in Portuguese
    refused = desk.post(director, f"/staff/documents/{desk.done.id}/cancel")
    assert refused.status_code == 409
    assert "só um documento ainda não assinado pelo cliente pode ser cancelado" in refused.text
    refused = desk.post(director, f"/staff/documents/{desk.done.id}/resend")
    assert refused.status_code == 409 and "aguardando a assinatura do cliente pode ser reenviado" in refused.text
    listing = reader.get("/staff/").text
    assert 'id="bulk-resend"' not in listing and 'id="bulk-cancel"' not in listing and 'id="bulk-zip"' in listing


def test_resend_sends_now_once_per_burst_and_at_most_three_a_day(desk: Desk) -> None:
    client = desk.client("emp")
    request = desk.services.requests.for_document(desk.mine.id)
    assert request is not None
    before = len(_to(desk, request.destination))
    assert desk.post(client, f"/staff/documents/{desk.mine.id}/resend").status_code == 303
    assert len(_to(desk, request.destination)) == before + 1  # sent at once, not at the next collect run
    notice = _notice(client, desk, desk.mine.id)
    assert "Link reenviado ao cliente." in notice and "O servidor aceitou a mensagem em" in notice
    assert desk.post(client, f"/staff/documents/{desk.mine.id}/resend").status_code == 303  # a second click
    assert len(_to(desk, request.destination)) == before + 1
    assert "já tinha sido reenviado" in _notice(client, desk, desk.mine.id)
    resends = [e for e in desk.services.outbox.entries(document_id=desk.mine.id) if e.dedupe_key.startswith("resend:")]
    assert len(resends) == 1 and resends[0].state.value == "sent"
    for n in (2, 3):  # two more, each after the window
        _age_resends(desk, minutes=6)
        assert desk.post(client, f"/staff/documents/{desk.mine.id}/resend").status_code == 303
        assert len(_to(desk, request.destination)) == before + n
    _age_resends(desk, minutes=6)
    limited = desk.post(client, f"/staff/documents/{desk.mine.id}/resend")
    assert limited.status_code == 409 and "já foi reenviado 3 vezes em 24 horas" in limited.text
    assert len(_to(desk, request.destination)) == before + 3
    page = client.get(f"/staff/documents/{desk.mine.id}").text
    assert "3 nas últimas 24 horas (no máximo 3)" in page
    events = [e for e in desk.pipe.ws.ledger.events(desk.mine.id) if e.action == "resend_queued"]
    assert len(events) == 3 and {e.actor for e in events} == {"Ana (emp)"}


def test_resend_with_the_relay_down_says_queued_not_sent(desk: Desk) -> None:
    down = replace(desk.services.smtp, port=1)  # nothing listens there
    services = Services(ws=desk.services.ws, config=desk.services.config, smtp=down)
    client = desk.client("emp", services=services)
    assert desk.post(client, f"/staff/documents/{desk.mine.id}/resend").status_code == 303
    notice = _notice(client, desk, desk.mine.id)
    assert "A mensagem está na fila" in notice and "aceitou" not in notice
    entries = desk.services.outbox.entries(document_id=desk.mine.id)
    entry = next(e for e in entries if e.dedupe_key.startswith("resend:"))
    assert entry.state.value == "pending"


def test_cancel_writes_back_to_the_crm_and_tells_the_client(desk: Desk) -> None:
    client = desk.client("emp")
    request = desk.services.requests.for_document(desk.mine.id)
    assert request is not None
    response = desk.post(client, f"/staff/documents/{desk.mine.id}/cancel", {"reason": "cliente desistiu"})
    assert response.status_code == 303
    assert desk.pipe.ws.ledger.get(desk.mine.id).stage is Stage.CANCELED
    crm = LocalCrm(desk.pipe.ws.engine)
    deal = int(desk.mine.deal_id)
    assert crm.get_deal_stage(deal) == desk.services.config.stages.quarantined
    comment = crm.comments(deal)[-1].text
    assert desk.mine.id in comment and "cancelado por Ana (emp)" in comment and "cliente desistiu" in comment
    assert writeback.is_done(desk.services, desk.mine.id, CANCEL_TARGET)
    notices = [s for s in _to(desk, request.destination) if "cancelado" in s]
    assert notices == [f"Pedido de assinatura cancelado: {desk.mine.title}"]
    text = _notice(client, desk, desk.mine.id)
    assert "Documento cancelado" in text and "O negócio no CRM recebeu o comentário" in text
    assert "Aviso ao cliente: O servidor aceitou a mensagem" in text
    closed = desk.services.requests.for_document(desk.mine.id)
    assert closed is not None and closed.status.value == "canceled"
    again = desk.post(client, f"/staff/documents/{desk.mine.id}/cancel")
    assert again.status_code == 409 and "“Cancelado”" in again.text
    assert len([s for s in _to(desk, request.destination) if "cancelado" in s]) == 1  # told once


def test_cancel_with_the_crm_refusing_stays_pending_and_can_be_retried(desk: Desk) -> None:
    good = desk.services
    broken = Services(ws=good.ws, config=replace(good.config, stages=replace(good.config.stages,
                                                                           quarantined="C1:NO_SUCH_STAGE")),
                      smtp=good.smtp)
    client = desk.client("dir", services=broken)
    assert desk.post(client, f"/staff/documents/{desk.mine.id}/cancel").status_code == 303
    notice = _notice(client, desk, desk.mine.id)
    assert "Não foi possível atualizar o CRM" in notice
    page = client.get(f"/staff/documents/{desk.mine.id}").text
    assert 'id="write-back"' in page and 'id="crm-pending"' in page
    assert not writeback.is_done(good, desk.mine.id, CANCEL_TARGET)
    fixed = desk.client("dir")
    assert desk.post(fixed, f"/staff/documents/{desk.mine.id}/write_back").status_code == 303
    assert "O negócio no CRM recebeu o comentário" in _notice(fixed, desk, desk.mine.id)
    assert writeback.is_done(good, desk.mine.id, CANCEL_TARGET)
    assert LocalCrm(good.ws.engine).get_deal_stage(int(desk.mine.deal_id)) == good.config.stages.quarantined
    assert 'id="write-back"' not in fixed.get(f"/staff/documents/{desk.mine.id}").text


def test_extend_shows_the_new_expiry(desk: Desk) -> None:
    client = desk.client("emp")
    request = desk.services.requests.for_document(desk.mine.id)
    assert request is not None
    assert desk.post(client, f"/staff/documents/{desk.mine.id}/extend", {"days": "5"}).status_code == 303
    extended = desk.services.requests.for_document(desk.mine.id)
    assert extended is not None and request.expires_at > datetime.now(UTC)
    new = extended.expires_at
    assert new == request.expires_at.replace(microsecond=0) + timedelta(days=5)
    shown = desk.services.ws.company.translator().format_datetime(new)
    assert f"O link de assinatura agora vale até {shown}." in _notice(client, desk, desk.mine.id)
    assert shown in client.get(f"/staff/documents/{desk.mine.id}").text  # the link section shows it too


def test_bulk_actions_say_what_was_done_and_why_others_were_skipped(desk: Desk) -> None:
    client = desk.client("emp")
    selection = [desk.mine.id, desk.other.id, "DOC-0000000000000000"]
    page = client.post("/staff/bulk/resend", data={"csrf": _csrf(client), "doc": selection})
    assert page.status_code == 200
    assert "Feitos: 1 · ignorados: 2" in page.text
    done, skipped = page.text.split('id="skipped"')
    assert desk.mine.id in done and "Link reenviado ao cliente." in done
    assert skipped.count("Seu perfil não permite") == 2  # another manager's, and one that does not exist
    extended = client.post("/staff/bulk/extend", data={"csrf": _csrf(client), "doc": [desk.mine.id], "days": "3"})
    assert "O link de assinatura agora vale até" in extended.text
    director = desk.client("dir")
    canceled = director.post("/staff/bulk/cancel", data={"csrf": _csrf(director), "reason": "lote errado",
                                                         "doc": [desk.other.id, desk.done.id]})
    assert "Feitos: 1 · ignorados: 1" in canceled.text
    assert "só um documento ainda não assinado pelo cliente pode ser cancelado" in canceled.text
    assert desk.pipe.ws.ledger.get(desk.other.id).stage is Stage.CANCELED
    assert desk.pipe.ws.ledger.get(desk.done.id).stage is Stage.COMPLETED
    nothing = director.post("/staff/bulk/cancel", data={"csrf": _csrf(director)})
    assert nothing.status_code == 409 and "Selecione pelo menos um documento." in nothing.text
    unknown = director.post("/staff/bulk/delete", data={"csrf": _csrf(director), "doc": [desk.mine.id]})
    assert unknown.status_code == 409


def _csrf(client: TestClient) -> str:
    return csrf_of(client.get("/staff/").text)
