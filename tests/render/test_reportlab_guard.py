"""Paragraph layouts are shared only on the reportlab release whose Paragraph internals were checked."""

from __future__ import annotations

import pytest
import reportlab
from reportlab.platypus import Paragraph

from esign.render import contract


def test_a_tested_release_shares_layouts() -> None:
    style = contract.styles()["body"]
    assert contract.sharing_layouts("5.1.0") and contract.sharing_layouts() == reportlab.Version.startswith("5.1.")
    assert isinstance(contract.shared_paragraph("Cláusula primeira.", style), contract._SharedParagraph)


def test_another_release_lays_out_each_paragraph_as_reportlab_does(monkeypatch: pytest.MonkeyPatch) -> None:
    style = next(iter(contract.styles().values()))
    monkeypatch.setattr(reportlab, "Version", "6.0.0")
    assert not contract.sharing_layouts()
    paragraph = contract.shared_paragraph("Cláusula primeira.", style)
    assert type(paragraph) is Paragraph and paragraph.wrap(300, 800)[1] > 0
