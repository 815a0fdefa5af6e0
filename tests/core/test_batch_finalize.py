"""Client-signed documents sealed in groups: one ledger transaction per group, the same outcome as one by one."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from esign.core.batch_documents import company_sign_documents, prepare_documents
from esign.core.batch_finalize import finalize_documents
from esign.model import ClientEvidence, Stage
from esign.store import EventInfo, sha256_hex
from esign.verify import verify_pdf
from esign.workspace import Workspace
from tests.support import make_deal, sample_evidence

TEMPLATE = "contrato_servicos"


def _client_signed(ws: Workspace, prefix: str, n: int) -> list[str]:
    """``n`` new client-signed documents (the workspace is shared: each test uses its own deal prefix)."""
    prepared = prepare_documents(ws, [(make_deal(f"{prefix}{i}"), ()) for i in range(n)], TEMPLATE)
    records = [p.record for p in prepared if p.record is not None]
    signed = company_sign_documents(ws, records, approved_by="director").signed
    assert len(signed) == n, "deal IDs already used by another test"
    for doc_id in signed:
        ws.ledger.move(doc_id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
        ws.ledger.move(doc_id, Stage.CLIENT_SIGNED, "client_signed", EventInfo(actor="client", channel="sms"))
    return signed


def _evidence_of(ids: Sequence[str]) -> dict[str, tuple[ClientEvidence, ...]]:
    return {i: (sample_evidence(f"Cliente {i[-4:]}"),) for i in ids}


def test_a_group_is_sealed_and_recorded_together(core_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _client_signed(core_ws, "fin-grp-", 5)
    commits: list[int] = []
    real = core_ws.ledger.bulk.record_files_and_move

    def counted(files: Any, *args: Any) -> list[str]:
        commits.append(len(files))
        return real(files, *args)

    monkeypatch.setattr(core_ws.ledger.bulk, "record_files_and_move", counted)
    outcome = finalize_documents(core_ws, ids, _evidence_of, record_every=2)
    assert sorted(outcome.completed) == sorted(ids) and not outcome.failed and not outcome.busy
    assert commits == [2, 2, 1]  # one transaction per group, not two per document
    for doc_id in ids:
        assert core_ws.ledger.get(doc_id).stage is Stage.COMPLETED
        assert core_ws.ledger.events(doc_id)[-1].action == "completed"
        data = core_ws.version_path("final", doc_id).read_bytes()
        version = core_ws.ledger.version(doc_id, "final")
        assert version is not None and version.sha256 == sha256_hex(data)
        assert verify_pdf(data, core_ws.ledger, core_ws.trust_roots).authentic
    out = subprocess.run(["pdfsig", str(core_ws.version_path("final", ids[0]))], capture_output=True, text=True,
                         check=False).stdout
    assert "Signature is Valid" in out and "Total document signed" in out
    again = finalize_documents(core_ws, ids, _evidence_of)
    assert again.completed == [] and not again.failed  # nothing sealed twice


def test_the_certificate_prints_each_documents_own_trail_and_signer(core_ws: Workspace) -> None:
    first, second = _client_signed(core_ws, "fin-trail-", 2)
    core_ws.ledger.log(second, "viewed", EventInfo(actor="client", ip="198.51.100.77"))
    finalize_documents(core_ws, [first, second], _evidence_of)
    from pypdf import PdfReader

    texts = {i: PdfReader(core_ws.version_path("final", i)).pages[-1].extract_text() for i in (first, second)}
    assert f"Cliente {first[-4:]}" in texts[first] and f"Cliente {second[-4:]}" not in texts[first]
    assert "198.51.100.77" in texts[second] and "198.51.100.77" not in texts[first]


def test_bad_documents_fail_alone(core_ws: Workspace) -> None:
    tampered, unsigned, good = _client_signed(core_ws, "fin-bad-", 3)
    core_ws.version_path("company_signed", tampered).write_bytes(b"%PDF-1.4 altered")
    outcome = finalize_documents(core_ws, [tampered, unsigned, good],
                                 lambda ids: {i: e for i, e in _evidence_of(ids).items() if i != unsigned})
    assert outcome.completed == [good]
    assert "does not match its SHA-256" in str(outcome.failed[tampered])
    assert "has no client signature" in str(outcome.failed[unsigned])
    for doc_id in (tampered, unsigned):  # the caller decides what to record
        assert core_ws.ledger.get(doc_id).stage is Stage.CLIENT_SIGNED
        assert core_ws.ledger.version(doc_id, "final") is None


def test_a_final_file_recorded_before_a_crash_is_only_moved(core_ws: Workspace) -> None:
    (doc_id,) = _client_signed(core_ws, "fin-resume-", 1)
    path = core_ws.version_path("final", doc_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF sealed before the crash")
    core_ws.ledger.add_version(doc_id, "final", sha256=sha256_hex(path.read_bytes()), path=str(path),
                               size=path.stat().st_size)
    outcome = finalize_documents(core_ws, [doc_id], _evidence_of)
    assert outcome.completed == [doc_id]
    assert path.read_bytes() == b"%PDF sealed before the crash"
    assert core_ws.ledger.get(doc_id).stage is Stage.COMPLETED


def test_documents_held_elsewhere_or_in_other_stages_are_left(core_ws: Workspace,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    held, free = _client_signed(core_ws, "fin-held-", 2)
    (draft,) = [p.record for p in prepare_documents(core_ws, [(make_deal("fin-held-draft"), ())], TEMPLATE)]
    assert draft is not None

    @contextmanager
    def only_free(ids: Sequence[str]) -> Iterator[set[str]]:
        yield {i for i in ids if i != held}

    monkeypatch.setattr(core_ws.ledger.bulk, "exclusive_many", only_free)
    outcome = finalize_documents(core_ws, [held, free, draft.id], _evidence_of)
    assert (outcome.busy, outcome.completed, outcome.failed) == ([held], [free], {})
    assert core_ws.ledger.get(held).stage is Stage.CLIENT_SIGNED
    assert core_ws.ledger.get(draft.id).stage is Stage.DRAFT


def test_an_unexpected_error_keeps_what_the_group_had_sealed(core_ws: Workspace,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _client_signed(core_ws, "fin-boom-", 2)
    import esign.core.batch_finalize as batch_finalize

    real = batch_finalize.finalize_document
    calls: list[int] = []

    def seal(*args: Any, **kw: Any) -> bytes:
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("out of memory while sealing")
        return real(*args, **kw)

    monkeypatch.setattr(batch_finalize, "finalize_document", seal)
    with pytest.raises(MemoryError):
        finalize_documents(core_ws, [first, second], _evidence_of)
    assert core_ws.ledger.get(first).stage is Stage.COMPLETED  # recorded before the error went up
    assert core_ws.ledger.get(second).stage is Stage.CLIENT_SIGNED  # the retry seals it
    monkeypatch.setattr(batch_finalize, "finalize_document", real)
    assert finalize_documents(core_ws, [first, second], _evidence_of).completed == [second]


def test_sealed_files_that_cannot_be_made_durable_are_not_recorded(core_ws: Workspace,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _client_signed(core_ws, "fin-eio-", 2)
    import esign.core.batch_finalize as batch_finalize

    real = batch_finalize.sync_files

    def failing(paths: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(batch_finalize, "sync_files", failing)
    with pytest.raises(OSError, match="Input/output error"):  # the task fails and is retried
        finalize_documents(core_ws, ids, _evidence_of)
    assert all(core_ws.ledger.get(i).stage is Stage.CLIENT_SIGNED for i in ids)
    assert all(core_ws.ledger.version(i, "final") is None for i in ids)
    monkeypatch.setattr(batch_finalize, "sync_files", real)
    assert sorted(finalize_documents(core_ws, ids, _evidence_of).completed) == sorted(ids)


def test_an_unavailable_tsa_stops_the_group_and_fails_no_document(core_ws: Workspace) -> None:
    """The timestamp authority down is not the documents' fault: they stay client_signed for the next run."""
    from dataclasses import replace

    from esign.errors import SealUnavailableError
    from tests.support import TEST_PASSPHRASE

    first, second = _client_signed(core_ws, "fin-tsa-", 2)
    down = Workspace(replace(core_ws.settings, tsa_url="http://127.0.0.1:9/"), passphrase=TEST_PASSPHRASE)
    with pytest.raises(SealUnavailableError, match="cannot be reached"):
        finalize_documents(down, [first, second], _evidence_of)
    assert [core_ws.ledger.get(i).stage for i in (first, second)] == [Stage.CLIENT_SIGNED] * 2
    assert not core_ws.version_path("final", first).exists()
    assert sorted(finalize_documents(core_ws, [first, second], _evidence_of).completed) == sorted([first, second])
