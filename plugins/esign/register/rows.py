"""The register's documents as a person reads them: manager names, batch labels and stage labels added.

Looked up once per page (or per chunk of an export), never per document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from esign.i18n import Translator
from esign.model.labels import stage_label
from esign.pipeline.services import Services
from esign.register.labels import batch_label
from esign.register.people import manager_names
from esign.register.queries import batch_runs
from esign.requests.records import RequestStatus
from esign.store import DocumentRecord


@dataclass(frozen=True, slots=True)
class Row:
    record: DocumentRecord
    stage: str
    manager: str  # the CRM's name for the responsible manager, or its CRM ID when the CRM has no name
    batch: str  # when the run started, how, and the batch number
    signatures: str = ""  # "2 de 4 assinaturas" on a document with several signers; empty with one


def manager_display(names: dict[str, str], manager_id: str | None) -> str:
    if not manager_id:
        return ""
    return names.get(manager_id) or f"#{manager_id}"


def rows_for(services: Services, t: Translator, records: Sequence[DocumentRecord]) -> list[Row]:
    names = manager_names(services, [r.manager_id for r in records])
    runs = batch_runs(services.ws.engine, [r.batch_id for r in records if r.batch_id])
    progress = signature_progress(services, t, records)
    return [Row(r, stage_label(r.stage, t), manager_display(names, r.manager_id),
                batch_label(t, r.batch_id, runs.get(r.batch_id or "")), progress.get(r.id, "")) for r in records]


def signature_progress(services: Services, t: Translator, records: Sequence[DocumentRecord]) -> dict[str, str]:
    """How many of its signers signed, for each document with several (one query for the page)."""
    several = {r.id: [s for s in r.signers if s.signs] for r in records if r.stored_signers}
    several = {doc: people for doc, people in several.items() if len(people) > 1}
    current = services.requests.current_for_documents(list(several))
    out = {}
    for doc, people in several.items():
        done = sum(1 for s in people if (q := current.get(doc, {}).get(s.position)) is not None
                   and q.status is RequestStatus.SIGNED)
        out[doc] = t.ngettext("%(signed)d of %(total)d signature", "%(signed)d of %(total)d signatures",
                              len(people)) % {"signed": done, "total": len(people)}
    return out


def rows_in_chunks(services: Services, t: Translator, records: Iterable[DocumentRecord],
                   size: int = 500) -> Iterator[Row]:
    """``rows_for`` over a long stream of documents, ``size`` at a time."""
    stream = iter(records)
    while chunk := list(islice(stream, size)):
        yield from rows_for(services, t, chunk)
