"""Signing requests: links, one-time codes, and the client's signature or refusal."""

from esign.requests.codes import CodeSender
from esign.requests.errors import (
    AlreadySignedError,
    CanceledError,
    CodeError,
    DeclinedError,
    InvalidInputError,
    LinkExpiredError,
    NotReadyError,
    NotVerifiedError,
    RequestError,
    SendFailedError,
    ThrottledError,
    UnknownLinkError,
)
from esign.requests.records import RequestStatus, SigningRequest
from esign.requests.service import SigningRequests

__all__ = [
    "AlreadySignedError",
    "CanceledError",
    "CodeError",
    "CodeSender",
    "DeclinedError",
    "InvalidInputError",
    "LinkExpiredError",
    "NotReadyError",
    "NotVerifiedError",
    "RequestError",
    "RequestStatus",
    "SendFailedError",
    "SigningRequest",
    "SigningRequests",
    "ThrottledError",
    "UnknownLinkError",
]
