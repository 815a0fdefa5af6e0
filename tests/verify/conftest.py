from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import complete_document, make_deal


@pytest.fixture(scope="session")
def completed(core_ws) -> tuple[str, Path]:  # type: ignore[no-untyped-def]
    doc_id = complete_document(core_ws, make_deal("9001"))
    return doc_id, core_ws.version_path("final", doc_id)


@pytest.fixture(scope="session")
def completed_other(core_ws) -> tuple[str, Path]:  # type: ignore[no-untyped-def]
    doc_id = complete_document(core_ws, make_deal("9002", title="Outro contrato"))
    return doc_id, core_ws.version_path("final", doc_id)
