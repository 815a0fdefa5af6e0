"""Verification of PDFs: the same verdict for ``esign verify`` and the public verification page."""

from esign.verify.signatures import SignatureCheck, check_signatures
from esign.verify.verifier import ALTERED, AUTHENTIC, UNKNOWN, VerificationResult, verify_pdf

__all__ = ["ALTERED", "AUTHENTIC", "UNKNOWN", "SignatureCheck", "VerificationResult", "check_signatures", "verify_pdf"]
