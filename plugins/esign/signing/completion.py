"""The certificate of completion: who signed what, when, from where, and the hashes to check it.

Laid out with platypus so long user agents wrap and many events flow onto further pages.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import reportlab
from reportlab.graphics.barcode import qrencoder
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    LayoutError,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import BaseDocTemplate

from esign.dispatch.channels import mask_destination
from esign.dispatch.labels import channel_label, event_channel_label
from esign.errors import SigningError, ValidationError
from esign.i18n import DEFAULT_LOCALE, DEFAULT_TIMEZONE, N_, Translator, translator
from esign.model import AuditEvent, ClientEvidence, Party, SignerSpec
from esign.model.labels import actor_label, event_label
from esign.reasons import describe_detail
from esign.render.contract import shared_paragraph
from esign.render.fonts import register_fonts
from esign.signing.stamps import GREY, INK, clean, stripe, utc

TITLE = N_("Certificate of completion")
INTRO = N_("This certificate records the electronic signature of the document below and the evidence collected. "
           "Point a phone's camera at the code to check the document's integrity:")
CLOSING = N_("This certificate is part of the final document, which is sealed with a PAdES digital signature "
             "covering every page, this one included. Any later change invalidates the seal.")
PAGE = N_("%(title)s, page %(page)s")
WITH_TAX_ID = N_("%(name)s (document %(tax_id)s)")
PARTY_TAX_ID = N_("document %(tax_id)s")
COMPANY_SIGNER = N_("%(name)s, %(title)s, %(company)s — PAdES digital signature on %(when)s")
CLIENT_SIGNER = N_("%(client)s — electronic signature on %(when)s")
CONFIRMATION = N_("code sent by %(channel)s to %(destination)s, confirmed on %(when)s")
NOT_RECORDED = N_("not recorded")
VIEWS = N_("opened %(count)s times, the last on %(when)s")
SIGNED_ON = N_("signed on %(when)s")
#: The role of a person who signed, as the certificate names it (by the block they filled).
ROLE_SIGNER = N_("Signer")
ROLE_WITNESS = N_("Witness")
ROLE_COMPANY_SIGNER = N_("Second company signer")
ROLE_NUMBERED = N_("%(role)s %(n)s")
COPY_RECIPIENTS = N_("Receives a copy")
UNSIGNED_DECLINED = N_("%(name)s — declined to sign (not required: the document is complete without it)")
UNSIGNED_EXPIRED = N_("%(name)s — did not sign before the link expired (not required: the document is complete "
                      "without it)")
COPY_RECIPIENT = N_("%(name)s — the signed document, sent to %(destination)s")
EVENTS_HEAD = (N_("Date and time"), N_("Action"), N_("Actor"), N_("Channel"), N_("IP address"),
               N_("Browser / detail"))
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LINE = Color(0.8, 0.82, 0.86)
_HEAD_BG = Color(0.93, 0.94, 0.97)


@dataclass(frozen=True, slots=True)
class CompletionInfo:
    """Everything the certificate prints besides the client's evidence."""

    document_id: str
    title: str
    company: Party
    counterparty: Party
    company_signer_name: str
    company_signer_title: str
    company_signed_at: datetime  # UTC
    events: tuple[AuditEvent, ...]
    sha256_original: str
    sha256_company_signed: str
    verify_url: str
    locale: str = DEFAULT_LOCALE  # the reader's language: the company's, or the client's when the deal has one
    timezone: str = DEFAULT_TIMEZONE  # the company's: every time is printed in it, with its UTC offset
    copies: tuple[SignerSpec, ...] = ()  # who receives the signed document without signing it
    #: optional signers who did not sign, with what they did instead: "declined", or "expired" (the link lapsed)
    unsigned: tuple[tuple[SignerSpec, str], ...] = ()

    def translator(self) -> Translator:
        return translator(self.locale, self.timezone)

    def check(self) -> None:
        """Refuse values that would print a misleading certificate."""
        if not self.document_id.strip():
            raise ValidationError("document_id", "must not be empty")
        for name in ("sha256_original", "sha256_company_signed"):
            if not _HEX64.fullmatch(getattr(self, name)):
                raise ValidationError(name, "must be 64 lowercase hex characters")
        if not self.verify_url.startswith(("https://", "http://")) or len(self.verify_url) > 1000:
            raise ValidationError("verify_url", "must be an http(s) URL of at most 1000 characters")


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = register_fonts()
    base = ParagraphStyle("cert", fontName=regular, fontSize=8.5, leading=11, textColor=Color(0.1, 0.1, 0.1))
    return {
        "title": ParagraphStyle("cert-title", parent=base, fontName=bold, fontSize=17, leading=22,
                                textColor=INK, spaceAfter=4),
        "h": ParagraphStyle("cert-h", parent=base, fontName=bold, fontSize=10.5, leading=14, textColor=INK,
                            spaceBefore=10, spaceAfter=4),
        "body": base,
        "label": ParagraphStyle("cert-label", parent=base, fontName=bold, textColor=GREY),
        "hash": ParagraphStyle("cert-hash", parent=base, fontSize=8, leading=10),
        "cell": ParagraphStyle("cert-cell", parent=base, fontSize=7, leading=8.8),
        "head": ParagraphStyle("cert-headcell", parent=base, fontName=bold, fontSize=7, leading=8.8),
        "note": ParagraphStyle("cert-note", parent=base, fontSize=7, leading=9, textColor=GREY, spaceBefore=10),
    }


def _p(text: str, style: str, limit: int = 600) -> Paragraph:
    return Paragraph(escape(clean(text, limit)), _styles()[style])


def _fixed(text: str, style: str) -> Paragraph:
    """A paragraph whose text is the same on every certificate (titles, labels, the action names): parsed and
    line-broken once per process (the same layout, so the same bytes). Per-document values use ``_p``, so they
    do not churn the shared cache."""
    return shared_paragraph(escape(clean(text)), _styles()[style])


def _party(party: Party, t: Translator) -> str:
    parts = [clean(party.name, 200)]
    if party.tax_id:
        parts.append(t.gettext(PARTY_TAX_ID) % {"tax_id": clean(party.tax_id, 40)})
    if party.address:
        parts.append(clean(party.address, 200))
    return " — ".join(parts)


def _grid(rows: list[tuple[str, str]], width: float) -> Table:
    data = [[_fixed(k, "label"), _p(v, "body", 1000)] for k, v in rows]
    table = Table(data, colWidths=[width * 0.3, width * 0.7])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.3, _LINE),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 3)]))
    return table


def _compact_views(events: tuple[AuditEvent, ...], t: Translator) -> list[AuditEvent]:
    """The trail in time order with each run of ``viewed`` events from one client (actor, channel, IP, browser)
    folded into one row saying how many and until when: a client reloading the page 400 times is one line.
    Details come out in the reader's language."""
    def client(e: AuditEvent) -> tuple[str, ...]:
        return e.action, e.actor, e.channel, e.ip, e.user_agent

    rows: list[tuple[AuditEvent, int, datetime]] = []
    for ev in sorted(events, key=lambda e: utc(e.at).replace(microsecond=0)):
        last = rows[-1][0] if rows else None
        if last is not None and ev.action == "viewed" and client(ev) == client(last):
            rows[-1] = (last, rows[-1][1] + 1, ev.at)
        else:
            rows.append((ev, 1, ev.at))
    return [replace(ev, detail=" · ".join(x for x in (
        describe_detail(ev.detail, t) if ev.detail else "",
        t.gettext(VIEWS) % {"count": t.format_number(n), "when": t.format_datetime(until, seconds=True)}
        if n > 1 else "") if x)) for ev, n, until in rows]


def _events_table(events: tuple[AuditEvent, ...], width: float, t: Translator) -> Table:
    head = [_fixed(t.gettext(label), "head") for label in EVENTS_HEAD]
    rows: list[list[Flowable]] = [head]
    for ev in _compact_views(events, t):
        extra = " · ".join(x for x in (clean(ev.user_agent, 500), clean(ev.detail, 300)) if x)
        rows.append([_p(t.format_datetime(ev.at, seconds=True), "cell"),
                     _fixed(clean(event_label(ev.action, t), 80), "cell"),
                     _p(actor_label(ev.actor, t), "cell", 160),
                     _fixed(clean(event_channel_label(ev.channel, t), 40), "cell"),
                     _p(ev.ip, "cell", 64), _p(extra, "cell", 900)])
    fractions = (0.17, 0.14, 0.17, 0.08, 0.14, 0.30)
    table = Table(rows, colWidths=[width * f for f in fractions], repeatRows=1)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (-1, 0), _HEAD_BG),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.3, _LINE),
                               ("LEFTPADDING", (0, 0), (-1, -1), 2.5), ("RIGHTPADDING", (0, 0), (-1, -1), 2.5)]))
    return table


_RULE3 = np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=np.int8)


def _run_penalty(lines: np.ndarray) -> int:
    """Rule 1 along each row of ``lines``: a run of L >= 5 equal modules costs L - 2."""
    n, m = lines.shape
    padded = np.full((n, m + 1), 2, dtype=np.int8)  # a sentinel column keeps runs from crossing rows
    padded[:, :m] = lines
    flat = padded.ravel()
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    lengths = np.diff(np.concatenate(([0], starts, [flat.size])))
    long = lengths[lengths >= 5]
    return int((long - 2).sum())


def _lost_points(modules: list[list[bool]]) -> int:
    """reportlab's ``QRUtil.getLostPoint`` computed with numpy: the same score, quirks included.

    (reportlab's rule 3 only ever matches rows, at positions 0 .. n-12, left to right without overlap: its column
    pass compares tuples with a list, which is never equal. Keeping that keeps the chosen mask, so the modules.)
    """
    a = np.array(modules, dtype=np.int8)
    n = int(a.shape[0])
    score = _run_penalty(a.T) + _run_penalty(a)
    top, bottom = a[:-1], a[1:]
    same = (top[:, :-1] == top[:, 1:]) & (top[:, :-1] == bottom[:, :-1]) & (top[:, :-1] == bottom[:, 1:])
    score += 3 * int(same.sum())
    if n - 11 > 0:
        windows = np.lib.stride_tricks.sliding_window_view(a, 11, axis=1)[:, : n - 11]
        hits = (windows == _RULE3).all(axis=2)
        for row in np.flatnonzero(hits.any(axis=1)):
            after = -1
            for j in np.flatnonzero(hits[row]).tolist():
                if j >= after:
                    score += 40
                    after = j + 11
    dark = int(a.sum())
    score += 10 * (abs(100 * dark // (n * n) - 50) // 5)
    return int(score)


class _FastQRCode(qrencoder.QRCode):  # type: ignore[misc]  # reportlab ships no type hints
    """reportlab's encoder with the mask chosen by the numpy score: the same mask, so the same modules."""

    def getBestMaskPattern(self) -> int:  # noqa: N802 - reportlab's name
        best, pattern = 0, 0
        for i in range(8):
            self.makeImpl(True, i)
            lost = _lost_points(self.modules)
            if i == 0 or best > lost:
                best, pattern = lost, i
        return pattern


#: The reportlab releases whose mask scoring ``_lost_points`` was checked against (tests/signing); with another,
#: reportlab's own encoder is used, so its codes stay its own.
_REPORTLAB_TESTED = ("5.1.",)


def qr_encoder_class(version: str = reportlab.Version) -> type[Any]:
    """The numpy-scored encoder on a tested reportlab release, reportlab's own otherwise."""
    return _FastQRCode if version.startswith(_REPORTLAB_TESTED) else qrencoder.QRCode


class _QrCode(Flowable):  # type: ignore[misc]  # reportlab ships no type hints
    """The verification link as a QR code, encoded once and drawn as one filled path.

    reportlab's QrCodeWidget encodes the code twice (once to measure it, once to draw it) and builds a shape per
    run of modules; the encoding (mask selection) dominates the certificate's cost. Same modules, same look.
    """

    def __init__(self, url: str, size: float, level: str = "M", border: int = 4) -> None:
        super().__init__()
        code = qr_encoder_class()(None, getattr(qrencoder.QRErrorCorrectLevel, level))
        code.addData(url)
        code.make()
        self.modules: list[list[bool | None]] = code.modules
        self.size = size
        self.border = border

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        box = self.size / (len(self.modules) + 2 * self.border)
        path = self.canv.beginPath()
        for r, row in enumerate(self.modules):
            column = 0
            for dark, run in itertools.groupby(bool(m) for m in row):
                count = len(list(run))
                if dark:
                    path.rect((column + self.border) * box, self.size - (r + self.border + 1) * box,
                              count * box, box)
                column += count
        self.canv.saveState()
        self.canv.setFillColor(black)
        self.canv.drawPath(path, stroke=0, fill=1)
        self.canv.restoreState()


_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def as_evidence_list(evidence: ClientEvidence | Sequence[ClientEvidence]) -> list[ClientEvidence]:
    """The signers' evidence by position (one ClientEvidence is a one-signer document's)."""
    items = [evidence] if isinstance(evidence, ClientEvidence) else list(evidence)
    return sorted(items, key=lambda e: e.position)


def _person(evidence: ClientEvidence, t: Translator) -> str:
    return (t.gettext(WITH_TAX_ID) % {"name": evidence.signer_name, "tax_id": evidence.signer_tax_id}
            if evidence.signer_tax_id else evidence.signer_name)


def _confirmation(evidence: ClientEvidence, t: Translator) -> str:
    return t.gettext(CONFIRMATION) % {"channel": channel_label(evidence.channel.lower(), t),
                                      "destination": evidence.masked_destination,
                                      "when": t.format_datetime(evidence.code_verified_at, seconds=True)}


def role_label(evidence: ClientEvidence, t: Translator) -> str:
    """Signer 1, Signer 2 (the client's), Witness 1, ..., Second company signer, by the block they filled."""
    kind, _, number = evidence.slot.partition("_")
    if kind == "company":
        label = t.gettext(ROLE_COMPANY_SIGNER)
        return label if number in ("", "2") else t.gettext(ROLE_NUMBERED) % {"role": label, "n": number}
    role = ROLE_WITNESS if evidence.role == "witness" or kind == "witness" else ROLE_SIGNER
    return t.gettext(ROLE_NUMBERED) % {"role": t.gettext(role), "n": number or "1"}


def _spec_role(spec: SignerSpec, t: Translator) -> str:
    """The role label of a signer who left no evidence (by the block the document gave them)."""
    return role_label(ClientEvidence(signer_name=spec.name, signed_at=_NEVER, channel="", masked_destination="",
                                     code_verified_at=_NEVER, position=spec.position, role=spec.role.value,
                                     slot=spec.slot), t)


def _signer_section(evidence: ClientEvidence, width: float, t: Translator) -> Flowable:
    not_recorded = t.gettext(NOT_RECORDED)
    return KeepTogether([_grid([
        (role_label(evidence, t), _person(evidence, t)),
        (t.gettext("Electronic signature"),
         t.gettext(SIGNED_ON) % {"when": t.format_datetime(evidence.signed_at, seconds=True)}),
        (t.gettext("Confirmation"), _confirmation(evidence, t)),
        (t.gettext("IP address"), evidence.ip or not_recorded),
        (t.gettext("Browser"), evidence.user_agent or not_recorded)], width), Spacer(1, 6)])


def _copies(info: CompletionInfo, t: Translator) -> list[tuple[str, str]]:
    rows = []
    for copy in info.copies:
        destination = (mask_destination("email", copy.email) if copy.email
                       else mask_destination("sms", copy.phone) if copy.phone else t.gettext(NOT_RECORDED))
        rows.append((t.gettext(COPY_RECIPIENTS), t.gettext(COPY_RECIPIENT) % {"name": copy.name,
                                                                              "destination": destination}))
    return rows


def _signatories(info: CompletionInfo, signed: list[ClientEvidence], width: float, t: Translator
                 ) -> list[Flowable]:
    """The director's PAdES signature, then each person who signed: one signer keeps the compact grid of a
    two-party document, several get a section each (role, name and CPF, when, how the code was confirmed, where
    from). The copy recipients close the list."""
    company_row = (t.gettext("For the company"), t.gettext(COMPANY_SIGNER) % {
        "name": info.company_signer_name, "title": info.company_signer_title, "company": info.company.name,
        "when": t.format_datetime(info.company_signed_at, seconds=True)})
    copies = _copies(info, t)
    if len(signed) == 1 and signed[0].slot == "client" and not info.unsigned:
        evidence = signed[0]
        not_recorded = t.gettext(NOT_RECORDED)
        return [_grid([company_row,
                       (t.gettext("Client"), t.gettext(CLIENT_SIGNER) % {
                           "client": _person(evidence, t),
                           "when": t.format_datetime(evidence.signed_at, seconds=True)}),
                       (t.gettext("Confirmation"), _confirmation(evidence, t)),
                       (t.gettext("Client's IP address"), evidence.ip or not_recorded),
                       (t.gettext("Client's browser"), evidence.user_agent or not_recorded), *copies], width)]
    story: list[Flowable] = [_grid([company_row], width), Spacer(1, 6)]
    story.extend(_signer_section(evidence, width, t) for evidence in signed)
    if info.unsigned:
        wording = {"declined": UNSIGNED_DECLINED, "expired": UNSIGNED_EXPIRED}
        story.append(_grid([(_spec_role(spec, t), t.gettext(wording[outcome]) % {"name": spec.name})
                            for spec, outcome in info.unsigned], width))
        story.append(Spacer(1, 6))
    if copies:
        story.append(_grid(copies, width))
    return story


def _story(info: CompletionInfo, evidence: list[ClientEvidence], width: float, t: Translator) -> list[Flowable]:
    qr_size = 92.0
    header = Table([[[_fixed(t.gettext(TITLE), "title"), _fixed(t.gettext(INTRO), "body"),
                      _p(info.verify_url, "body", 1000)],
                     _QrCode(info.verify_url, qr_size)]],
                   colWidths=[width - qr_size - 8, qr_size + 8])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [
        header,
        _fixed(t.gettext("Document"), "h"),
        _grid([(t.gettext("Document ID"), info.document_id), (t.gettext("Title"), info.title),
               (t.gettext("Company"), _party(info.company, t)),
               (t.gettext("Counterparty"), _party(info.counterparty, t))], width),
        _fixed(t.gettext("Signatories"), "h"),
        *_signatories(info, evidence, width, t),
        KeepTogether([_fixed(t.gettext("Integrity (SHA-256)"), "h"),
                      _fixed(t.gettext("Original document:"), "label"), _p(info.sha256_original, "hash"),
                      Spacer(1, 3),
                      _fixed(t.gettext("Version signed by the company:"), "label"),
                      _p(info.sha256_company_signed, "hash")]),
        _fixed(t.gettext("Events"), "h"),
        _events_table(info.events, width, t),
        _fixed(t.gettext(CLOSING), "note"),
    ]


def certificate_pdf(info: CompletionInfo, evidence: ClientEvidence | Sequence[ClientEvidence]) -> bytes:
    """Render the certificate of completion as a standalone PDF (one or more A4 pages): every signer who signed
    (``evidence``, one per signer), the copy recipients, the hashes and the audit trail."""
    info.check()
    signed = as_evidence_list(evidence)
    if not signed:
        raise SigningError("evidence: nobody signed the document")
    t = info.translator()
    title = t.gettext(TITLE)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=46, rightMargin=42, topMargin=40,
                            bottomMargin=40, title=f"{title} — {clean(info.document_id, 80)}",
                            author="esign-pipeline")

    def on_page(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        label = t.gettext(PAGE) % {"title": title, "page": t.format_number(canvas.getPageNumber())}
        stripe(info.document_id, label, t)(canvas, A4[0], A4[1])

    try:
        doc.build(_story(info, signed, doc.width, t), onFirstPage=on_page, onLaterPages=on_page)
    except (LayoutError, ValueError) as exc:
        raise SigningError(f"certificate of completion: cannot be laid out ({exc})") from exc
    return buf.getvalue()
