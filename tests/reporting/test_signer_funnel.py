"""The per-signer funnel: for each role and position, who was invited, opened the link, confirmed the code, signed,
declined or let it expire; on the page in Portuguese and in the report's JSON with English keys."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
from bs4 import BeautifulSoup
from sqlalchemy import Engine, insert

from esign.i18n import translator
from esign.model.signers import SignerRole, SignerSpec, SigningOrder, arrange
from esign.reporting import build_signing_report, signing_page
from esign.reporting.metrics import signer_funnel_table
from esign.requests.schema import signing_requests
from esign.store import Ledger

from .conftest import SINCE, T0, UNTIL

HOUR = timedelta(hours=1)
COLUMNS = ["role", "position", "signers", "invited", "viewed", "confirmed", "signed", "declined", "expired"]


def _two_signers_and_a_witness(engine: Engine) -> None:
    """D8 (signers Ana, Bruno and witness Carla, sequential) and D9 (the same, parallel) created in the period.

    D8: Ana signed on her second link (the first expired), Bruno opened his and confirmed the code, Carla waits.
    D9: Ana's link expired unopened, Bruno declined, Carla opened hers.
    """
    ledger = Ledger(engine, clock=lambda: T0 + HOUR)
    people = [SignerSpec(0, SignerRole.SIGNER, "Ana Souza"), SignerSpec(0, SignerRole.SIGNER, "Bruno Lima"),
              SignerSpec(0, SignerRole.WITNESS, "Carla Dias", tax_id="52998224725"),
              SignerSpec(0, SignerRole.COPY, "Jurídico")]
    for name, mode in (("D8", SigningOrder.SEQUENTIAL), ("D9", SigningOrder.PARALLEL)):
        ledger.create_document(deal_id=name, template_id="tpl_a", title=name, document_id=f"DOC-{name}",
                               signers=arrange(people, mode))
    at = T0 + 2 * HOUR
    rows = [  # document, attempt, signer, status, viewed, confirmed
        ("D8", 1, 1, "expired", False, False), ("D8", 2, 1, "signed", True, True), ("D8", 3, 2, "open", True, True),
        ("D9", 1, 1, "expired", False, False), ("D9", 2, 2, "declined", True, True), ("D9", 3, 3, "open", True, False),
    ]
    with engine.begin() as conn:
        conn.execute(insert(signing_requests), [{
            "id": f"REQ-{doc}-{attempt}", "document_id": f"DOC-{doc}", "attempt": attempt, "signer": signer,
            "token_sha256": f"{doc}{attempt:062d}", "channel": "email", "destination": "x", "masked_destination": "x",
            "status": status, "created_at": at, "expires_at": at + 14 * 24 * HOUR,
            "viewed_at": at + HOUR if viewed else None, "verified_at": at + HOUR if confirmed else None,
        } for doc, attempt, signer, status, viewed, confirmed in rows])


def test_each_role_and_position_counts_how_far_its_signers_got(report_engine: Engine) -> None:
    _two_signers_and_a_witness(report_engine)
    report = build_signing_report(report_engine, SINCE, UNTIL)
    table = report.signer_funnel
    assert list(table.columns) == COLUMNS
    rows = {(r["role"], r["position"]): r for r in table.to_dict(orient="records")}
    assert list(rows) == [("signer", 1), ("signer", 2), ("witness", 3)]  # copies sign nothing
    # signer 1: D1..D6 ("[]": one signer each) and Ana in D8 and D9
    assert {k: rows[("signer", 1)][k] for k in COLUMNS[2:]} == {
        "signers": 8, "invited": 7, "viewed": 1, "confirmed": 1, "signed": 4, "declined": 1, "expired": 1}
    assert {k: rows[("signer", 2)][k] for k in COLUMNS[2:]} == {
        "signers": 2, "invited": 2, "viewed": 2, "confirmed": 2, "signed": 0, "declined": 1, "expired": 0}
    assert {k: rows[("witness", 3)][k] for k in COLUMNS[2:]} == {
        "signers": 2, "invited": 1, "viewed": 1, "confirmed": 0, "signed": 0, "declined": 0, "expired": 0}
    assert report.figures["signers"] == 12 and report.figures["signers_signed"] == 4

    data = json.loads(report.metrics_json())
    assert data["figures"]["signers_signed"] == 4
    assert data["signer_funnel"][2] == {"role": "witness", "position": 3, "signers": 2, "invited": 1, "viewed": 1,
                                        "confirmed": 0, "signed": 0, "declined": 0, "expired": 0}

    page = BeautifulSoup(signing_page.signer_funnel(report, translator("pt_BR")), "html.parser")
    assert page.find("h2").get_text() == "Signatários"
    headings = [th.get_text() for th in page.select("#signer-funnel th")]
    assert headings == ["Papel", "Posição", "Signatários", "Convidados", "Abriram o link", "Confirmaram o código",
                        "Assinaturas", "Recusas", "Expirações"]
    cells = [[td.get_text() for td in tr.find_all("td")] for tr in page.select("#signer-funnel tbody tr")]
    assert cells[2][:4] == ["Testemunha", "3", "2", "1"]


def test_an_empty_period_has_an_empty_table_with_its_columns() -> None:
    table = signer_funnel_table(pd.DataFrame())
    assert list(table.columns) == COLUMNS and table.empty
