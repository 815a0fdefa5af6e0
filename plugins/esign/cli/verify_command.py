"""``esign verify FILE``: the verdict in the reader's language, or as JSON with stable codes; the exit code says it.

Exit codes: 0 authentic, 1 altered, 3 incomplete (an earlier version issued here), 4 unknown (not issued here,
not a PDF, or too large or complex to examine), 2 a usage or configuration error. The file is examined in a
child process with time and memory limits, like an upload to the verification page.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from esign.cli import UsageError
from esign.composition import workspace_for


def register(sub: Any) -> None:
    verify = sub.add_parser("verify", help="is this PDF authentic, incomplete, altered or unknown?")
    verify.add_argument("file", help="the PDF to check")
    verify.add_argument("--json", action="store_true", help="print the result as JSON (stable machine codes)")
    verify.add_argument("--offline", action="store_true",
                        help="judge by the file alone (signatures and structure), without the ledger")
    verify.add_argument("--lang", help="language of the human output (pt-BR by default; en, es)")
    verify.set_defaults(handler=verify_file)


def verify_file(args: argparse.Namespace) -> int:
    from esign.i18n import translator
    from esign.verify import verify_untrusted

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    ws = workspace_for()
    result = verify_untrusted(data, None if args.offline else ws.ledger, ws.trust_roots)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(human_lines(result, translator(args.lang), str(path))))
    return result.exit_code


def human_lines(result: Any, t: Any, name: str) -> list[str]:
    """The verdict as lines of text in ``t``'s language."""
    from esign.verify.presentation import view

    shown = view(result, t)
    lines = [f"{shown.title.upper()}: {name}", f"  {shown.summary}"]
    if result.document_id:
        lines.append("  " + t.gettext("document: %(id)s") % {"id": result.document_id}
                     + (f" ({result.title})" if result.title else ""))
    if shown.version:
        lines.append("  " + t.gettext("version: %(version)s") % {"version": shown.version})
    if shown.stage:
        lines.append("  " + t.gettext("current stage: %(stage)s") % {"stage": shown.stage})
    if shown.trusted_time:
        lines.append("  " + t.gettext("sealed at (trusted time): %(when)s") % {"when": shown.trusted_time})
    lines.append(f"  SHA-256: {result.sha256}")
    for signature in shown.signatures:
        verdict = t.gettext("valid signature") if signature.ok else t.gettext("signature with problems")
        lines.append(f"  {verdict}: {signature.signer or '-'}")
        lines.append("    " + ", ".join(f"{what}: {t.gettext('yes') if holds else t.gettext('no')}"
                                        for what, holds in signature.facts))
    lines.extend(f"  - {text}" for text in shown.reasons)
    if result.offline:
        lines.append("  " + t.gettext("(offline: the ledger was not consulted)"))
    return lines
