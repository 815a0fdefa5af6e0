"""The part of verification that parses the stranger's file: what it claims to be and what its signatures say.

Everything that reads untrusted bytes with a PDF parser happens here, so that :mod:`esign.verify.sandbox` can run
it in a child process with time and memory limits; the verdict (:mod:`esign.verify.verifier`) only combines this
plain-data result with the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from esign.verify.identify import claimed_document_id
from esign.verify.reasons import Reason
from esign.verify.signatures import SignatureScan, check_signatures


@dataclass(frozen=True, slots=True)
class Examination:
    """What the file says about itself; plain data (it crosses a process boundary)."""

    document_id: str | None
    scan: SignatureScan
    refused: Reason | None = None  # set when the file could not be examined at all (limits)


def examine(data: bytes, trust_roots: Sequence[x509.Certificate]) -> Examination:
    """Read the claimed document ID and check every signature (in this process)."""
    return Examination(document_id=claimed_document_id(data), scan=check_signatures(data, trust_roots))
