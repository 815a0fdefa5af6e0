"""Rules fire from the DAG's collect step: once per trigger occurrence, with a ledger event, moving deals and
sending reminders as configured; conditions and failures are reported."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from esign.config import Settings
from esign.crm.local import LocalCrm
from esign.crm.local_schema import crm_deals, crm_managers
from esign.dispatch.records import MessageKind
from esign.model import Stage
from esign.pipeline import collect
from esign.rules.config import parse_rules
from esign.rules.engine import evaluate, explain
from esign.rules.schema import rule_firings
from tests.pipeline.conftest import Pipe, client_declines, client_signs, pipe, run_send  # noqa: F401
from tests.support import PROJECT_DIR


def _rules(*rules: dict[str, object]):  # type: ignore[no-untyped-def]
    return parse_rules({"rules": list(rules)})


def _crm(p: Pipe) -> LocalCrm:
    return LocalCrm(p.ws.engine)


def _set_amount(p: Pipe, deal_id: str, amount: str) -> None:
    with p.ws.engine.begin() as conn:
        conn.execute(crm_deals.update().where(crm_deals.c.id == int(deal_id)).values(amount=amount))


@pytest.fixture
def sent(pipe: Pipe) -> Pipe:  # noqa: F811
    run_send(pipe.services, "run-rules")
    return pipe


def test_client_signed_moves_the_deal_and_adds_a_task_once(sent: Pipe) -> None:
    services = sent.services
    doc = services.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_signs(services, doc.id)
    rules = _rules({"name": "signed-move", "trigger": "client_signed",
                    "actions": [{"type": "move_deal", "stage": "C1:WON"},
                                {"type": "task", "text": "Emitir fatura de {counterparty} ({document_id})"}]})
    assert evaluate(services, rules) == {"fired": 1}
    assert evaluate(services, rules) == {}  # a re-run fires nothing
    assert _crm(sent).get_deal_stage(int(doc.deal_id)) == "C1:WON"
    texts = [c.text for c in _crm(sent).comments(int(doc.deal_id))]
    assert texts[-1] == f"Tarefa: Emitir fatura de {doc.counterparty_name} ({doc.id})"
    fired = [e for e in services.ws.ledger.events(doc.id) if e.action == "rule_fired"]
    assert len(fired) == 1 and fired[0].actor == "rules" and "signed-move" in fired[0].detail


def test_no_response_sends_a_reminder_once_per_document(sent: Pipe) -> None:
    services = sent.services
    waiting = services.ws.ledger.list_by_stage(Stage.SENT)
    rules = _rules({"name": "nudge", "trigger": {"type": "no_response", "days": 4},
                    "actions": [{"type": "remind"}]})
    assert evaluate(services, rules) == {}  # nobody waited 4 days yet
    later = datetime.now(UTC) + timedelta(days=5)
    assert evaluate(services, rules, later) == {"fired": len(waiting)}
    assert evaluate(services, rules, later + timedelta(days=5)) == {}
    reminders = [e for e in services.outbox.entries() if str(e.kind) == MessageKind.REMINDER]
    assert len(reminders) == len(waiting)
    assert all(e.dedupe_key.startswith("rule:nudge|") for e in reminders)
    before = len(sent.messages())
    assert collect.deliver_leftovers(services)["sent"] == len(reminders)
    ids = {m.message["Message-ID"] for m in sent.messages()[before:]}
    assert ids == {e.message_id for e in reminders}


def test_declined_emails_the_responsible_manager(sent: Pipe) -> None:
    services = sent.services
    doc = services.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_declines(services, doc.id)
    rules = _rules({"name": "tell-manager", "trigger": "declined",
                    "actions": [{"type": "email_manager", "subject": "Recusa {document_id}",
                                 "text": "{counterparty} recusou."}]})
    assert evaluate(services, rules) == {"fired": 1}
    with services.ws.engine.connect() as conn:
        email = conn.execute(select(crm_managers.c.email).where(crm_managers.c.id == int(doc.manager_id))).scalar()
    notices = [e for e in services.outbox.entries() if str(e.kind) == MessageKind.NOTICE]
    assert [n.destination for n in notices] == [email]
    assert f"Recusa {doc.id}".encode() in notices[0].payload
    assert collect.deliver_leftovers(services)["sent"] == 1  # through the loopback SMTP server
    received = [m for m in sent.messages() if m.header("To") == email]
    assert len(received) == 1
    text = received[0].text
    public = services.ws.settings.public_url
    assert f"{doc.counterparty_name} recusou." in text
    assert "Motivo informado pelo cliente: Preço errado" in text
    assert "Situação: Recusado" in text
    assert f"{public}/staff/documents/{doc.id}" in text
    assert services.ws.settings.verify_url(doc.id) in text
    assert received[0].header("Content-Language") == "pt-BR"
    assert evaluate(services, rules) == {}  # fired once: no second e-mail


def test_manager_email_reads_the_company_language_and_may_quote_the_reason(sent: Pipe) -> None:
    services = sent.services
    doc = services.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_declines(services, doc.id, reason="Prazo curto demais")
    services.ws.company = replace(services.ws.company, language="es")  # type: ignore[misc]
    rules = _rules({"name": "tell", "trigger": "declined",
                    "actions": [{"type": "email_manager", "subject": "{document_id}: {reason}", "text": "-"}]})
    assert evaluate(services, rules) == {"fired": 1}
    assert collect.deliver_leftovers(services)["sent"] == 1
    message = sent.messages()[-1]
    assert message.header("Subject") == f"{doc.id}: Prazo curto demais"
    assert "Motivo indicado por el cliente: Prazo curto demais" in message.text
    assert "Motivo informado" not in message.text


def test_manager_email_of_a_signed_document_has_links_but_no_reason(sent: Pipe) -> None:
    services = sent.services
    doc = services.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_signs(services, doc.id)
    rules = _rules({"name": "signed", "trigger": "client_signed",
                    "actions": [{"type": "email_manager", "subject": "Assinado {document_id}", "text": "ok"}]})
    assert evaluate(services, rules) == {"fired": 1}
    assert collect.deliver_leftovers(services)["sent"] == 1
    text = sent.messages()[-1].text
    assert f"/staff/documents/{doc.id}" in text and "Motivo" not in text


def test_deal_enters_stage_fires_again_only_after_leaving(sent: Pipe) -> None:
    services = sent.services
    crm = _crm(sent)
    deal = int(services.ws.ledger.list_by_stage(Stage.SENT)[0].deal_id)
    rules = _rules({"name": "negotiation", "trigger": {"type": "deal_enters_stage", "stage": "C1:UC_EXPIRED"},
                    "actions": [{"type": "comment", "text": "Negócio {deal_id} entrou em expirados"}]})
    assert evaluate(services, rules) == {}
    crm.move_deal(deal, "C1:UC_EXPIRED")
    assert evaluate(services, rules) == {"fired": 1}
    assert evaluate(services, rules) == {}
    crm.move_deal(deal, "C1:EXECUTING")
    assert evaluate(services, rules) == {}
    crm.move_deal(deal, "C1:UC_EXPIRED")
    assert evaluate(services, rules) == {"fired": 1}
    assert [c.text for c in crm.comments(deal)].count(f"Negócio {deal} entrou em expirados") == 2
    with services.ws.engine.connect() as conn:
        keys = sorted(r[0] for r in conn.execute(select(rule_firings.c.key)))
    prefix = f"negotiation|deal:{deal}|enters:C1:UC_EXPIRED"
    assert keys == [f"{prefix}#1", f"{prefix}#2"]


def test_conditions_on_amount_pipeline_and_template(sent: Pipe) -> None:
    services = sent.services
    docs = services.ws.ledger.list_by_stage(Stage.SENT)[:2]
    for doc in docs:
        client_signs(services, doc.id)
    _set_amount(sent, docs[0].deal_id, "90000.00")
    _set_amount(sent, docs[1].deal_id, "100.00")
    big = _rules({"name": "big", "trigger": "client_signed", "when": {"amount_min": 50000, "pipeline": "1"},
                  "actions": [{"type": "comment", "text": "grande"}]})
    assert evaluate(services, big) == {"fired": 1, "not_matching": 1}
    other_pipeline = _rules({"name": "p2", "trigger": "client_signed", "when": {"pipeline": "2"},
                             "actions": [{"type": "comment", "text": "x"}]})
    assert evaluate(services, other_pipeline) == {"not_matching": 2}
    small = _rules({"name": "small", "trigger": "client_signed", "when": {"amount_max": 1000, "template": "outro"},
                    "actions": [{"type": "comment", "text": "x"}]})
    assert evaluate(services, small) == {"not_matching": 2}
    lines = explain(services, big + small, docs[1].deal_id)
    assert any(line.startswith("big: no") and "below 50000" in line for line in lines)
    assert any(line.startswith("small: no") and "template is contrato_servicos, not outro" in line for line in lines)
    assert explain(services, big, docs[0].deal_id) == [f"big: already fired on {docs[0].id} (client_signed)"]


def test_explain_says_yes_before_firing_and_names_unmet_triggers(sent: Pipe) -> None:
    services = sent.services
    doc = services.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_signs(services, doc.id)
    rules = _rules({"name": "a", "trigger": "client_signed", "actions": [{"type": "comment", "text": "x"}]},
                   {"name": "b", "trigger": "declined", "actions": [{"type": "comment", "text": "x"}]},
                   {"name": "c", "trigger": {"type": "deal_enters_stage", "stage": "C1:WON"},
                    "actions": [{"type": "comment", "text": "x"}]})
    lines = explain(services, rules, doc.deal_id)
    assert lines[0] == f"a: yes — {doc.id}: client_signed, conditions hold; would comment"
    assert lines[1] == "b: no — trigger declined not met (no document of the deal)"
    assert lines[2].startswith("c: no — trigger deal_enters_stage not met (deal is in C1:EXECUTING)")


def test_failed_action_is_recorded_and_retried(sent: Pipe) -> None:
    services = sent.services
    doc = services.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_signs(services, doc.id)
    rules = _rules({"name": "broken", "trigger": "client_signed",
                    "actions": [{"type": "move_deal", "stage": "C1:NOPE"}]})
    assert evaluate(services, rules) == {"failed": 1}
    with services.ws.engine.connect() as conn:
        row = conn.execute(select(rule_firings)).one()
    assert row.state == "failed" and "unknown deal stage 'C1:NOPE'" in row.detail
    assert evaluate(services, rules) == {"failed": 1}  # retried, still failing, still one row
    assert not [e for e in services.ws.ledger.events(doc.id) if e.action == "rule_fired"]


def test_remind_without_an_open_document_fails_clearly(sent: Pipe) -> None:
    services = sent.services
    doc = services.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_signs(services, doc.id)
    rules = _rules({"name": "late", "trigger": "client_signed", "actions": [{"type": "remind"}]})
    assert evaluate(services, rules) == {"failed": 1}
    with services.ws.engine.connect() as conn:
        assert "not waiting for the client" in conn.execute(select(rule_firings.c.detail)).scalar()


def test_send_document_queues_the_deal_for_esign_send(sent: Pipe) -> None:
    services = sent.services
    crm = _crm(sent)
    deal = int(services.ws.ledger.list_by_stage(Stage.SENT)[0].deal_id)
    crm.move_deal(deal, "C1:UC_EXPIRED")
    rules = _rules({"name": "again", "trigger": {"type": "deal_enters_stage", "stage": "C1:UC_EXPIRED"},
                    "actions": [{"type": "send_document", "template": "contrato_servicos", "channel": "email"}]})
    assert evaluate(services, rules) == {"fired": 1}
    assert crm.get_deal_stage(deal) == services.config.stages.trigger


def test_collect_step_reads_the_rules_file(sent: Pipe, tmp_path: Path) -> None:
    services = sent.services
    doc = services.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_declines(services, doc.id)
    path = tmp_path / "my-rules.yaml"
    path.write_text("rules:\n  - name: lost\n    trigger: declined\n    actions:\n"
                    "      - {type: move_deal, stage: 'C1:LOSE'}\n")
    services = sent.with_config()
    variables = services.settings.model_copy(update={"rules_file": str(path)})  # as if ESIGN_RULES_FILE named it
    services.ws.settings = Settings.from_settings(variables, PROJECT_DIR)
    assert services.ws.settings.rules_file == path
    assert collect.evaluate_rules(services) == {"fired": 1}
    assert _crm(sent).get_deal_stage(int(doc.deal_id)) == "C1:LOSE"
    assert sent.with_config(dry_run=True) and collect.evaluate_rules(sent.services) == {}
