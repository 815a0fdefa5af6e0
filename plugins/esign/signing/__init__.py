"""Keys, PAdES signatures, visible signature blocks, the certificate of completion and the final seal."""

from esign.signing.company import COMPANY_FIELD, company_sign
from esign.signing.completion import CompletionInfo, certificate_pdf
from esign.signing.finalize import SEAL_FIELD, finalize_document
from esign.signing.keys import KeyPaths, SigningIdentity, describe_identity, init_keys, load_identity
from esign.signing.pades import PdfSealer

__all__ = [
    "COMPANY_FIELD",
    "SEAL_FIELD",
    "CompletionInfo",
    "KeyPaths",
    "PdfSealer",
    "SigningIdentity",
    "certificate_pdf",
    "company_sign",
    "describe_identity",
    "finalize_document",
    "init_keys",
    "load_identity",
]
