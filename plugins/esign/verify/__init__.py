"""Verification of PDFs: the same verdict for ``esign verify``, the public verification page and the pipeline."""

from esign.verify.reasons import Reason
from esign.verify.sandbox import verify_untrusted
from esign.verify.signatures import SignatureCheck, check_signatures
from esign.verify.verifier import (
    ALTERED,
    AUTHENTIC,
    EXIT_CODES,
    INCOMPLETE,
    UNKNOWN,
    VerificationResult,
    verify_pdf,
)

__all__ = ["ALTERED", "AUTHENTIC", "EXIT_CODES", "INCOMPLETE", "UNKNOWN", "Reason", "SignatureCheck",
           "VerificationResult", "check_signatures", "verify_pdf", "verify_untrusted"]
