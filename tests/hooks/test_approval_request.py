"""The director's approval request in Airflow's Required actions: the run's summary in the company's language."""

from __future__ import annotations

from typing import Any

from esign.hooks.approval_request import approval_request, render_request
from esign.i18n import translator
from esign.pipeline.approval import summarize_run
from esign.pipeline.send import plan_batches, prepare_batch
from tests.pipeline.conftest import Pipe

SUMMARY: dict[str, Any] = {
    "run_id": "manual__7", "batches": 2, "stages": {"draft": 1200, "quarantined": 3}, "to_sign": 1200,
    "sample": [{"document": "DOC-1", "deal": "41", "title": "Contrato de serviços",
                "counterparty": "ACME [clique](http://evil.example) | *Ltda*"}],
    "carried_over": {"batches": 1, "from_runs": ["manual__6"], "approved_before": 0},
}


def test_the_request_in_portuguese() -> None:
    request = render_request(SUMMARY, translator("pt_BR"))
    assert request["subject"] == "Aprovar os contratos da execução manual__7 para a assinatura da empresa"
    body = request["body"].splitlines()
    assert body[0] == "1.200 documentos a assinar, em 2 lote(s)."
    assert "1 lote(s) assumido(s) de execuções anteriores (manual\\_\\_6); 0 já aprovado(s)." in body
    assert "| Documento | Negócio | Título | Cliente |" in body
    # deal data is shown as it is, never as markup (a link, a table cell of its own)
    assert body[-1] == r"| DOC-1 | 41 | Contrato de serviços | ACME \[clique\]\(http://evil.example\) \| \*Ltda\* |"


def test_one_document_and_nothing_carried_over_in_spanish() -> None:
    summary = {**SUMMARY, "to_sign": 1, "batches": 1, "stages": {"draft": 1}, "sample": [], "carried_over": {}}
    request = render_request(summary, translator("es"))
    assert request["subject"].startswith("Aprobar los contratos de la ejecución manual__7")
    assert request["body"].splitlines()[0] == "1 documento por firmar, en 1 lote(s)."
    assert "|" not in request["body"] and "ejecuciones anteriores" not in request["body"]


def test_the_request_of_a_prepared_run_in_the_companys_language(pipe: Pipe) -> None:
    for batch in plan_batches(pipe.services, "run-a"):
        prepare_batch(pipe.services, batch)
    summary = summarize_run(pipe.services, "run-a")
    request = approval_request(pipe.services, summary)
    assert request["subject"] == "Aprovar os contratos da execução run-a para a assinatura da empresa"
    assert request["body"].count("\n| ") == len(summary["sample"]) + 1  # the header row, then one row each
