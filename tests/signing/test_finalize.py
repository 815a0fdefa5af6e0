"""finalize_document: client block + certificate of completion + seal, checked by outside validators."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils.reader import PdfFileReader as PyHankoReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import DocumentSecurityStore, read_certification_data, validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from esign.errors import SigningError, ValidationError
from esign.i18n import translator
from esign.model import AuditEvent, ClientEvidence, Party, SignatureSlot
from esign.signing import SEAL_FIELD, CompletionInfo, PdfSealer, SigningIdentity, company_sign, finalize_document
from esign.signing.tsa import DEMO_POLICY
from esign.verify.poppler import pdfsig_output, pdfsig_problem
from esign.verify.revisions import read_revisions

from .conftest import DOC_ID, SIGNED_AT, SLOTS, HankoResult, make_pdf

CLIENT_AT = SIGNED_AT + timedelta(days=1, minutes=7)
LONG_UA = ("Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
           "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 ") * 4 + "X" * 300


@dataclasses.dataclass(frozen=True)
class Case:
    original: bytes
    company_signed: bytes
    info: CompletionInfo
    evidence: ClientEvidence
    final: bytes


def _events(n: int) -> tuple[AuditEvent, ...]:
    base = [AuditEvent(at=SIGNED_AT, action="company_signed", actor="Maria Souza", channel="", ip="10.0.0.5"),
            AuditEvent(at=SIGNED_AT + timedelta(minutes=1), action="sent", actor="sistema", channel="sms")]
    views = [AuditEvent(at=SIGNED_AT + timedelta(hours=2, seconds=i), action="viewed", actor="João da Silva",
                        channel="sms", ip=f"203.0.113.{i % 250}", user_agent=LONG_UA) for i in range(n)]
    return (*base, *views, AuditEvent(at=CLIENT_AT, action="client_signed", actor="João da Silva",
                                      channel="sms", ip="203.0.113.9", user_agent="Safari/604.1"))


def _evidence(**kw: object) -> ClientEvidence:
    args: dict[str, object] = {"signer_name": "João da Silva", "signed_at": CLIENT_AT, "channel": "sms",
                               "masked_destination": "+55 11 9****-1234",
                               "code_verified_at": CLIENT_AT - timedelta(seconds=40), "ip": "203.0.113.9",
                               "user_agent": LONG_UA, "typed_name": "João da Silva",
                               "signer_tax_id": "123.456.789-09"}
    args.update(kw)
    return ClientEvidence(**args)  # type: ignore[arg-type]


def _info(original: bytes, company_signed: bytes, events: tuple[AuditEvent, ...]) -> CompletionInfo:
    return CompletionInfo(
        document_id=DOC_ID, title="Contrato de prestação de serviços",
        company=Party("Acme Serviços Ltda", "12.345.678/0001-90"),
        counterparty=Party("João da Silva", "123.456.789-09"),
        company_signer_name="Maria Souza", company_signer_title="Diretora Executiva", company_signed_at=SIGNED_AT,
        events=events, sha256_original=hashlib.sha256(original).hexdigest(),
        sha256_company_signed=hashlib.sha256(company_signed).hexdigest(),
        verify_url=f"https://esign.example.com/verificar/{DOC_ID}")


@pytest.fixture(scope="module")
def case(sealer: PdfSealer) -> Case:
    original = make_pdf()
    signed = company_sign(original, SLOTS, sealer, signer_name="Maria Souza", signer_title="Diretora Executiva",
                          company_name="Acme Serviços Ltda", signed_at=SIGNED_AT)
    info = _info(original, signed, _events(40))
    evidence = _evidence()
    return Case(original, signed, info, evidence, finalize_document(signed, SLOTS, evidence, info, sealer))


def test_seal_validates_in_pyhanko(case: Case, hanko_validate: Callable[[bytes], HankoResult]) -> None:
    result = hanko_validate(case.final)
    assert (result.intact, result.valid, result.trusted) == (True, True, True)
    assert result.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert (result.field_name, result.count) == (SEAL_FIELD, 1)  # no broken company signature left behind


def test_seal_validates_in_pdfsig(case: Case, pdfsig: Callable[[bytes], str]) -> None:
    report = pdfsig(case.final)
    assert report.count("Signature #") == 1
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report


def test_qpdf_check(case: Case, qpdf_check: Callable[[bytes], subprocess.CompletedProcess[str]]) -> None:
    proc = qpdf_check(case.final)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_company_field_and_widget_are_gone(case: Case) -> None:
    reader = PdfReader(io.BytesIO(case.final))
    fields = reader.get_fields() or {}
    assert list(fields) == [SEAL_FIELD]
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert annot.get_object().get("/T") != "esign_company"


def test_pages_and_blocks(case: Case) -> None:
    reader = PdfReader(io.BytesIO(case.final))
    assert len(reader.pages) >= 2 + 2  # the contract, then a certificate that flowed onto a second page
    page = " ".join(reader.pages[1].extract_text().split())
    assert "Maria Souza" in page and "Assinado eletronicamente em 28/11/2026 11:03 (UTC-03:00)" in page
    assert "Assinado eletronicamente por João da Silva em 29/11/2026 11:10 (UTC-03:00)" in page
    assert "código confirmado por SMS para +55 11 9****-1234" in page
    assert "João da Silva" in page
    assert "Clausula 21" in page  # the contract's own content is still there


def test_certificate_content(case: Case) -> None:
    reader = PdfReader(io.BytesIO(case.final))
    cert_pages = [p.extract_text() for p in reader.pages[2:]]
    text = "\n".join(cert_pages)
    flat = " ".join(text.split())
    assert "Certificado de conclusão" in cert_pages[0]
    assert case.info.sha256_original in text and case.info.sha256_company_signed in text
    assert case.info.sha256_company_signed == hashlib.sha256(case.company_signed).hexdigest()
    for expected in (DOC_ID, "Contrato de prestação de serviços", "Acme Serviços Ltda", "12.345.678/0001-90",
                     "123.456.789-09", "Maria Souza", "Diretora Executiva", "+55 11 9****-1234",
                     case.info.verify_url):
        assert expected in flat, expected
    t = translator("pt_BR", "America/Sao_Paulo")
    for event in case.info.events:
        assert t.format_datetime(event.at, seconds=True) in flat, event
    assert flat.count("Aberto pelo cliente") == 40
    assert "Assinado pelo cliente" in flat and "Assinado pela empresa" in flat
    assert "203.0.113.39" in flat
    for page in cert_pages:  # the ID stripe on every certificate page
        assert f"Documento {DOC_ID}" in page


def test_metadata_keeps_document_id(case: Case) -> None:
    meta = PdfReader(io.BytesIO(case.final)).metadata
    assert meta["/EsignDocumentId"] == DOC_ID
    assert meta["/Title"] == "Contrato de teste"


def test_drawn_png_is_drawn(sealer: PdfSealer, case: Case, hanko_validate: Callable[[bytes], HankoResult]) -> None:
    img = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    for x in range(20, 280):
        img.putpixel((x, 50 + (x % 20) - 10), (10, 20, 90, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    final = finalize_document(case.company_signed, SLOTS, _evidence(drawn_png=buf.getvalue(), typed_name=""),
                              case.info, sealer)
    assert hanko_validate(final).intact
    page = PdfReader(io.BytesIO(final)).pages[1]
    assert len(page.images) == 1
    assert "João da Silva" in page.extract_text()  # still named in the caption


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"not an image"])
def test_corrupt_png(sealer: PdfSealer, case: Case, data: bytes) -> None:
    with pytest.raises(SigningError, match="drawn_png"):
        finalize_document(case.company_signed, SLOTS, _evidence(drawn_png=data), case.info, sealer)


def test_jpeg_is_refused(sealer: PdfSealer, case: Case) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (20, 10)).save(buf, format="JPEG")
    with pytest.raises(SigningError, match="drawn_png: expected a PNG"):
        finalize_document(case.company_signed, SLOTS, _evidence(drawn_png=buf.getvalue()), case.info, sealer)


def test_missing_client_slot(sealer: PdfSealer, case: Case) -> None:
    with pytest.raises(SigningError, match="no 'client' signature slot"):
        finalize_document(case.company_signed, [SLOTS[0]], case.evidence, case.info, sealer)


@pytest.mark.parametrize(("field", "change"), [
    ("sha256_original", {"sha256_original": "abc"}),
    ("sha256_company_signed", {"sha256_company_signed": "G" * 64}),
    ("document_id", {"document_id": " "}),
    ("verify_url", {"verify_url": "javascript:alert(1)"}),
])
def test_bad_completion_info(sealer: PdfSealer, case: Case, field: str, change: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as err:
        finalize_document(case.company_signed, SLOTS, case.evidence, dataclasses.replace(case.info, **change), sealer)
    assert err.value.field == field


def test_unreadable_pdf(sealer: PdfSealer, case: Case) -> None:
    with pytest.raises(SigningError, match="pdf"):
        finalize_document(b"garbage", SLOTS, case.evidence, case.info, sealer)


def test_empty_client_name(sealer: PdfSealer, case: Case) -> None:
    with pytest.raises(SigningError, match="signer_name"):
        finalize_document(case.company_signed, SLOTS, _evidence(signer_name=""), case.info, sealer)


def test_many_events_and_no_events(sealer: PdfSealer, case: Case,
                                   hanko_validate: Callable[[bytes], HankoResult]) -> None:
    many = finalize_document(case.company_signed, SLOTS, case.evidence,
                             dataclasses.replace(case.info, events=_events(400)), sealer)
    assert len(PdfReader(io.BytesIO(many)).pages) > 10 and hanko_validate(many).intact
    none = finalize_document(case.company_signed, SLOTS, case.evidence, dataclasses.replace(case.info, events=()),
                             sealer)
    assert len(PdfReader(io.BytesIO(none)).pages) == 3



# -- the seal worth keeping: one revision, certified, timestamped, with its validation data --------------------
def test_final_file_is_one_revision_without_orphans(case: Case) -> None:
    """Written afresh: no earlier revision to roll back to, and every object in the file is used."""
    revisions = read_revisions(case.final).revisions
    assert len(revisions) == 1 and revisions[0].end == len(case.final)
    reader = PdfReader(io.BytesIO(case.final))
    reachable: set[int] = set()
    todo: list[object] = [reader.trailer.get("/Root"), reader.trailer.get("/Info")]
    while todo:
        item = todo.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in reachable:
                continue
            reachable.add(item.idnum)
            item = item.get_object()
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    assert set(revisions[0].defined) == reachable
    company_cms = case.company_signed[case.company_signed.rindex(b"/Contents <") + 11:][:64]
    assert company_cms not in case.final  # the company's signature dictionary is gone, not orphaned


def test_seal_is_a_certification_that_permits_no_change(case: Case) -> None:
    reader = PyHankoReader(io.BytesIO(case.final))
    certification = read_certification_data(reader)
    assert certification is not None and certification.permission is MDPPerm.NO_CHANGES
    seal = reader.embedded_signatures[0]
    assert seal.docmdp_level is MDPPerm.NO_CHANGES
    assert reader.root["/Perms"].raw_get("/DocMDP").idnum == seal.sig_field.raw_get("/V").idnum


def test_seal_carries_a_trusted_rfc3161_timestamp(case: Case, identity: SigningIdentity) -> None:
    assert identity.ca_cert is not None
    seal = PyHankoReader(io.BytesIO(case.final)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[translate_pyca_cryptography_cert_to_asn1(identity.ca_cert)])
    status = validate_pdf_signature(seal, context, context)
    stamp = status.timestamp_validity
    assert stamp is not None and stamp.intact and stamp.valid and stamp.trusted
    assert abs(stamp.timestamp - datetime.now(UTC)) < timedelta(minutes=10)
    token = seal.signer_info["unsigned_attrs"][0]["values"][0]
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    assert tst_info["policy"].dotted == DEMO_POLICY and "TSA" in stamp.signing_cert.subject.human_friendly


def test_validation_data_alone_validates_with_revocation_required(case: Case, identity: SigningIdentity) -> None:
    """B-LT: the DSS holds the chain and the CA's CRL; nothing fetched, revocation checking mandatory."""
    assert identity.ca_cert is not None
    reader = PyHankoReader(io.BytesIO(case.final))
    dss = DocumentSecurityStore.read_dss(reader)
    subjects = {c.subject.human_friendly for c in dss.load_certs()}
    assert any("Maria Souza" in s for s in subjects) and any("TSA" in s for s in subjects)
    assert len(dss.crls) == 1
    context = dss.as_validation_context({
        "trust_roots": [translate_pyca_cryptography_cert_to_asn1(identity.ca_cert)], "allow_fetching": False,
        "revocation_mode": "require"})
    status = validate_pdf_signature(reader.embedded_signatures[0], context, context)
    assert status.bottom_line and status.trusted and status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    bare = ValidationContext(trust_roots=[translate_pyca_cryptography_cert_to_asn1(identity.ca_cert)],
                             allow_fetching=False, revocation_mode="require", crls=[])
    assert not validate_pdf_signature(reader.embedded_signatures[0], bare, bare).trusted  # the DSS is what does it


def test_pdfsig_trusts_the_seal_with_the_company_ca(case: Case, identity: SigningIdentity, tmp_path: Path) -> None:
    assert identity.ca_cert is not None
    path = tmp_path / "final.pdf"
    path.write_bytes(case.final)
    report = pdfsig_output(path, [identity.ca_cert])
    assert "Certificate Validation: Certificate is Trusted." in report, report
    assert "Total document signed" in report and "Signature is Valid." in report
    assert pdfsig_problem(path, [identity.ca_cert]) is None


# -- several signers: each block in the slot named after it, a certificate section each ------------------------
MORE_SLOTS = (*SLOTS, SignatureSlot(role="client_2", page=1, x=310, y=300, width=230, height=80),
              SignatureSlot(role="witness_1", page=0, x=60, y=120, width=220, height=64))


def _several() -> tuple[ClientEvidence, ...]:
    return (_evidence(),
            _evidence(signer_name="Ana Pereira", typed_name="Ana Pereira", signer_tax_id="111.444.777-35",
                      position=2, slot="client_2", ip="198.51.100.2", user_agent="Firefox/133.0",
                      signed_at=CLIENT_AT + timedelta(hours=1)),
            _evidence(signer_name="Carlos Lima", typed_name="Carlos Lima", signer_tax_id="390.533.447-05",
                      position=3, role="witness", slot="witness_1", channel="email",
                      masked_destination="c***@example.com", signed_at=CLIENT_AT + timedelta(hours=2)))


def _region(pdf: bytes, slot: SignatureSlot, tmp_path: Path) -> str:
    path = tmp_path / "final.pdf"
    path.write_bytes(pdf)
    height = float(PdfReader(io.BytesIO(pdf)).pages[slot.page].mediabox.height)
    out = subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", "-f", str(slot.page + 1), "-l", str(slot.page + 1),
                          "-x", str(int(slot.x)), "-y", str(int(height - slot.y - slot.height)),
                          "-W", str(int(slot.width)), "-H", str(int(slot.height)), str(path), "-"],
                         capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def test_several_signers_each_in_their_block(sealer: PdfSealer, case: Case, tmp_path: Path,
                                             hanko_validate: Callable[[bytes], HankoResult]) -> None:
    evidence = _several()
    final = finalize_document(case.company_signed, MORE_SLOTS, evidence, case.info, sealer)
    result = hanko_validate(final)
    assert (result.intact, result.valid, result.trusted, result.count) == (True, True, True, 1)
    for item in evidence:
        text = _region(final, next(s for s in MORE_SLOTS if s.role == item.slot), tmp_path)
        assert f"Assinado eletronicamente por {item.signer_name}" in text, (item.slot, text)
    reader = PdfReader(io.BytesIO(final))
    certificate = " ".join(" ".join(p.extract_text() for p in reader.pages[2:]).split())
    for label, item in zip(("Signatário 1", "Signatário 2", "Testemunha 1"), evidence, strict=True):
        assert f"{label}" in certificate and f"{item.signer_name} (documento {item.signer_tax_id})" in certificate
        assert item.masked_destination in certificate
    assert "198.51.100.2" in certificate and "Firefox/133.0" in certificate
    assert "Cliente" not in certificate.split("Integridade")[0].split("Signatários")[1]  # no one-signer grid


def test_several_signers_refusals(sealer: PdfSealer, case: Case) -> None:
    evidence = _several()
    with pytest.raises(SigningError, match="no 'witness_1' signature slot"):
        finalize_document(case.company_signed, MORE_SLOTS[:3], evidence, case.info, sealer)
    with pytest.raises(SigningError, match="two signatures for the 'client' block"):
        finalize_document(case.company_signed, MORE_SLOTS, (evidence[0], evidence[0]), case.info, sealer)
    with pytest.raises(SigningError, match="nobody signed"):
        finalize_document(case.company_signed, MORE_SLOTS, (), case.info, sealer)
    with pytest.raises(SigningError, match="signer_name: the name of signer 3"):
        finalize_document(case.company_signed, MORE_SLOTS, (*evidence[:2], dataclasses.replace(
            evidence[2], signer_name=" ")), case.info, sealer)
