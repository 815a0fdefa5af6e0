"""The attack catalogue (tests/verify/attacks.py) against a completed document: never authentic, with the ledger
and offline, and the reason names what was done. The padding bypass also shows what pyHanko alone concludes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from esign.verify import ALTERED, AUTHENTIC, INCOMPLETE, verify_pdf
from esign.workspace import Workspace
from tests.verify.attacks import CATALOGUE, Sample, padding_bypass, pyhanko_update

#: Ledger-mode verdicts other than ``altered``: the version it rolls back to is ours and unchanged.
LEDGER_STATUS = {"rollback: the company-signed version": INCOMPLETE}
#: The reason the strict check gives (offline, where nothing else can tell), by attack class.
OFFLINE_REASONS = {
    "ISA": {"content_after_signature", "bytes_after_last_revision", "revisions_unreadable"},
    "ISA/USF": {"signature_dict_redefined"},
    "Shadow": {"content_after_signature"},
    "Padding": {"contents_padding_altered", "contents_not_canonical"},
    "Hex case": {"contents_not_canonical"},
    "SWA": {"gap_not_contents", "revisions_unreadable", "duplicate_key"},
}


@pytest.fixture(scope="module")
def sample(core_ws: Workspace, completed: tuple[str, Path], completed_other: tuple[str, Path]) -> Sample:
    doc_id, path = completed
    other_id, other = completed_other
    return Sample(doc_id, path.read_bytes(), core_ws.version_path("company_signed", doc_id).read_bytes(),
                  other_id, other.read_bytes())


def test_the_victim_itself_is_authentic_in_both_modes(core_ws: Workspace, sample: Sample) -> None:
    assert verify_pdf(sample.final, core_ws.ledger, core_ws.trust_roots).status == AUTHENTIC
    assert verify_pdf(sample.final, None, core_ws.trust_roots).status == AUTHENTIC


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_attack_is_never_authentic(core_ws: Workspace, sample: Sample, name: str) -> None:
    kind, attack = CATALOGUE[name]
    forged = attack(sample.final, sample)
    assert forged != sample.final
    with_ledger = verify_pdf(forged, core_ws.ledger, core_ws.trust_roots)
    offline = verify_pdf(forged, None, core_ws.trust_roots)
    assert with_ledger.status == LEDGER_STATUS.get(name, ALTERED), (name, with_ledger.reason_texts())
    assert offline.status != AUTHENTIC and offline.exit_code != 0, (name, offline.reason_texts())
    assert with_ledger.exit_code != 0 and with_ledger.reasons and offline.reasons
    if kind in OFFLINE_REASONS:
        codes = {r.code for r in offline.reasons}
        assert codes & OFFLINE_REASONS[kind], (name, sorted(codes))


def _hanko(data: bytes, core_ws: Workspace) -> tuple[SignatureCoverageLevel, bool, bool]:
    root = translate_pyca_cryptography_cert_to_asn1(core_ws.trust_roots[0])
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0], context,
                                    skip_diff=True)
    assert status.coverage is not None
    return status.coverage, status.intact, status.valid


def test_padding_bypass_fools_pyhanko_but_not_the_strict_check(core_ws: Workspace, sample: Sample) -> None:
    """The finding that started this: pyHanko alone calls the forged file covered entirely, intact and valid."""
    from tests.verify.attacks import _draw_over

    forged = padding_bypass(sample.final, _draw_over)
    assert _hanko(forged, core_ws) == (SignatureCoverageLevel.ENTIRE_FILE, True, True)
    offline = verify_pdf(forged, None, core_ws.trust_roots)
    assert offline.status == ALTERED and offline.signatures[0].intact and offline.signatures[0].valid
    assert {"signature_dict_redefined", "contents_not_hex_string", "content_after_signature"} <= {
        r.code for r in offline.reasons}


def test_a_plain_update_is_reported_for_what_it_is(core_ws: Workspace, sample: Sample) -> None:
    from tests.verify.attacks import _draw_over

    offline = verify_pdf(pyhanko_update(sample.final, _draw_over), None, core_ws.trust_roots)
    seal = offline.signatures[0]
    assert seal.intact and seal.valid and seal.trusted and not seal.covers_entire_file and seal.revision == 0
    assert [r.params.get("count") for r in offline.reasons if r.code == "content_after_signature"] == [1]
