"""A document with several signers on the client's pages: each signer reads who they sign as, their own name in
the form, where the others stand (names and states, never contacts); another signer's decline stops them; the
public /verify page lists every signer and when they signed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

from esign.model import Stage
from esign.model.signers import SignerRole, SignerSpec, SigningOrder, arrange
from esign.store import EventInfo, sha256_hex
from tests.portal.conftest import csrf_of

if TYPE_CHECKING:
    from conftest import Env
    from esign.requests import SigningRequest

PEOPLE = [SignerSpec(0, SignerRole.SIGNER, "Ana Souza", email="ana.souza@example.com", phone="+5511987650001"),
          SignerSpec(0, SignerRole.SIGNER, "Bruno Lima", email="bruno.lima@example.com"),
          SignerSpec(0, SignerRole.WITNESS, "Carla Dias", tax_id="52998224725", email="carla.dias@example.com"),
          SignerSpec(0, SignerRole.COPY, "Jurídico", email="juridico@example.com")]


def _document(env: Env, mode: SigningOrder = SigningOrder.PARALLEL) -> tuple[str, dict[int, SigningRequest]]:
    """A sent document with two client signers and a witness, each with a link; (document id, requests)."""
    doc, _ = env.ledger.create_document(deal_id=f"multi-{mode}", template_id="contrato", title="Contrato de sócios",
                                        counterparty_name="Cliente Ltda", signers=arrange(PEOPLE, mode))
    data = env.make_pdf(env.documents_dir / f"{doc.id}.pdf", 1)
    env.ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Maria Diretora"))
    env.ledger.add_version(doc.id, "company_signed", sha256=sha256_hex(data), path=f"{doc.id}.pdf", size=len(data))
    env.ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="email"))
    requests = {signer.position: env.requests.create(doc.id, "email", signer.email,
                                                     env.clock.now + timedelta(days=14), signer=signer.position)
                for signer in arrange(PEOPLE, mode) if signer.signs}
    return doc.id, requests


def _confirmed(env: Env, request: SigningRequest) -> SigningRequest:
    env.requests.issue_code(request, env.recorder, "203.0.113.7", "pytest")
    env.requests.check_code(request, env.recorder.last_code, "203.0.113.7", "pytest")
    return env.requests.get(request.id)


def test_the_second_signer_reads_who_they_sign_as_and_where_the_others_are(env: Env) -> None:
    client = TestClient(env.make_app())
    _, requests = _document(env)
    env.requests.sign(_confirmed(env, requests[1]), "Ana Souza", None, True, "203.0.113.7", "pytest")
    token = env.requests.token_for(requests[2])
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    mine = re.search(r'<p id="my-role">(.*?)</p>', page.text, re.S)
    assert mine is not None
    assert "Bruno Lima" in mine.group(1) and "Você assina como signatário" in mine.group(1)
    assert "assinatura 2 de 3" in mine.group(1)
    others = page.text[page.text.index('id="other-signers"'):]
    others = others[:others.index("</ul>")]
    assert re.search(r'data-position="1" data-state="signed"><strong>Ana Souza</strong> · Signatário', others)
    assert re.search(r'data-position="3" data-state="invited"><strong>Carla Dias</strong> · Testemunha', others)
    assert "Assinou" in others and "Convidado" in others
    for contact in ("ana.souza", "a***@example.com", "987650001", "carla.dias", "c***@example.com", "Jurídico"):
        assert contact not in page.text, contact  # nobody else's contact; copies are not signers
    # the code goes to Bruno's own address, and the form carries his name
    code = client.post(f"/s/{token}/code", data={"csrf": csrf_of(page.text), "intent": "sign"})
    assert "b***@example.com" in code.text
    form = client.post(f"/s/{token}/verify", data={"csrf": csrf_of(code.text), "intent": "sign",
                                                   "code": env.recorder.last_code})
    assert re.search(r'id="typed_name"[^>]*value="Bruno Lima"', form.text)


def test_a_witness_reads_that_they_sign_as_a_witness(env: Env) -> None:
    client = TestClient(env.make_app())
    _, requests = _document(env)
    page = client.get(f"/s/{env.requests.token_for(requests[3])}")
    assert "Carla Dias" in page.text and "Você assina como testemunha" in page.text and "assinatura 3 de 3" in page.text


def test_another_required_signers_decline_gives_the_declined_page(env: Env) -> None:
    client = TestClient(env.make_app())
    doc_id, requests = _document(env)
    env.requests.decline(_confirmed(env, requests[2]), "Não concordo com a cláusula 3", "203.0.113.7", "pytest")
    page = client.get(f"/s/{env.requests.token_for(requests[1])}")
    assert page.status_code == 409 and 'data-reason="declined"' in page.text
    assert "Outra pessoa que assina recusou este documento" in page.text
    assert "Bruno" not in page.text and "cláusula 3" not in page.text  # who declined and why stay with the company
    assert env.ledger.get(doc_id).stage is Stage.DECLINED


def test_a_signer_who_signed_before_another_declined_reads_that_it_will_not_be_completed(env: Env) -> None:
    client = TestClient(env.make_app())
    _, requests = _document(env)
    env.requests.sign(_confirmed(env, requests[1]), "Ana Souza", None, True, "203.0.113.7", "pytest")
    env.requests.decline(_confirmed(env, requests[2]), "Não concordo", "203.0.113.7", "pytest")
    page = client.get(f"/s/{env.requests.token_for(requests[1])}")
    assert page.status_code == 200 and 'id="done"' in page.text  # their link still leads to what they signed
    assert 'id="declined-by-other"' in page.text and "não será concluído" in page.text
    assert "receberá a via final" not in page.text  # no final copy is coming
    assert re.search(r'data-position="2" data-state="declined"><strong>Bruno Lima</strong>', page.text)


def test_a_one_signer_document_says_who_signs_and_lists_nobody_else(env: Env) -> None:
    client = TestClient(env.make_app())
    token, _ = env.new_link()
    page = client.get(f"/s/{token}")
    assert "Você assina como signatário" in page.text and "assinatura 1 de" not in page.text
    assert 'id="other-signers"' not in page.text


def test_verify_lists_every_signer_and_when_they_signed_without_contacts(env: Env) -> None:
    client = TestClient(env.make_app())
    doc_id, requests = _document(env, SigningOrder.PARALLEL)
    env.requests.sign(_confirmed(env, requests[1]), "Ana Souza", None, True, "203.0.113.7", "pytest")
    env.requests.sign(_confirmed(env, requests[3]), "Carla Dias", None, True, "203.0.113.7", "pytest")
    html = client.get(f"/verify/{doc_id}").text
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(r'<li data-position="(\d)"[^>]*>(.*?)</li>', html, re.S)}
    assert sorted(rows) == [1, 2, 3]
    assert "Ana Souza" in rows[1] and "Cliente Ltda" in rows[1] and "código confirmado por E-mail" in rows[1]
    assert "Bruno Lima" in rows[2] and "Convidado" in rows[2]
    assert "Carla Dias" in rows[3] and "Testemunha" in rows[3] and "código confirmado" in rows[3]
    for contact in ("@example.com", "***", "52998224725", "987650001"):
        assert contact not in html, contact
