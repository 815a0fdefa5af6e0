"""The demo time-stamping authority (RFC 3161) over real HTTP on loopback, and the client that seals use."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from esign.signing import KeyPaths, SigningIdentity
from esign.signing.timestamps import HttpTimeStamper, LocalTimeStamper
from esign.signing.tsa import DEMO_POLICY, Refusal, TimeStampAuthority, load_tsa_identity
from esign.signing.tsa_server import TsaServer

from .conftest import PASSPHRASE


def _request(digest: bytes = bytes(32), algorithm: str = "sha256", **extra: object) -> bytes:
    req: dict[str, object] = {"version": "v1", "cert_req": True, "nonce": 12345678901234,
                              "message_imprint": {"hash_algorithm": {"algorithm": algorithm},
                                                  "hashed_message": digest}}
    req.update(extra)
    return bytes(tsp.TimeStampReq(req).dump())


def _post(url: str, body: bytes, content_type: str = "application/timestamp-query") -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": content_type}, timeout=10)


def test_tsa_certificate_is_for_time_stamping_only(keys: KeyPaths, identity: SigningIdentity) -> None:
    tsa = load_tsa_identity(keys.tsa_p12, PASSPHRASE)
    eku = tsa.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert identity.ca_cert is not None
    tsa.cert.verify_directly_issued_by(identity.ca_cert)


def test_token_over_http_is_valid_and_names_its_policy(tsa: TsaServer, identity: SigningIdentity) -> None:
    digest = hashlib.sha256(b"contrato").digest()
    response = _post(tsa.url, _request(digest))
    assert response.status_code == 200 and response.headers["content-type"] == "application/timestamp-reply"
    reply = tsp.TimeStampResp.load(response.content)
    assert reply["status"]["status"].native == "granted"
    token = reply["time_stamp_token"]
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 12345678901234 and info["policy"].dotted == DEMO_POLICY
    assert abs(info["gen_time"].native - datetime.now(UTC)) < timedelta(minutes=5)
    assert identity.ca_cert is not None
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1

    context = ValidationContext(trust_roots=[translate_pyca_cryptography_cert_to_asn1(identity.ca_cert)])
    status = asyncio.run(validate_tst_signed_data(token["content"], context, lambda _algorithm: digest))
    assert status["intact"] and status["valid"] and status.get("trust_problem_indic") is None, status


def test_serial_numbers_are_unique(tsa: TsaServer) -> None:
    serials = set()
    for _ in range(20):
        reply = tsp.TimeStampResp.load(_post(tsa.url, _request()).content)
        serials.add(reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed["serial_number"]
                    .native)
    assert len(serials) == 20


@pytest.mark.parametrize(("body", "fail_info"), [
    (b"\x30\x03\x02\x01\x01", "bad_data_format"),
    (b"not der at all", "bad_data_format"),
    (_request(algorithm="sha1", digest=bytes(20)), "bad_alg"),
    (_request(algorithm="md5", digest=bytes(16)), "bad_alg"),
    (_request(digest=bytes(31)), "bad_data_format"),
    (_request(req_policy="1.2.3.4"), "unaccepted_policy"),
    (_request(extensions=[{"extn_id": "1.2.3.5", "critical": False, "extn_value": b"\x05\x00"}]),
     "unaccepted_extensions"),
    (_request(version="v2"), "bad_request"),
])
def test_bad_requests_are_rejected_with_the_reason(tsa: TsaServer, body: bytes, fail_info: str) -> None:
    response = _post(tsa.url, body)
    assert response.status_code == 200  # RFC 3161: the refusal is a TimeStampResp, not an HTTP error
    assert response.headers["content-type"] == "application/timestamp-reply"
    refusal = Refusal.load(response.content, strict=True)  # the status and nothing else: no token
    assert refusal["status"]["status"].native == "rejection"
    assert fail_info in refusal["status"]["fail_info"].native


def test_http_errors_for_what_is_not_a_request(tsa: TsaServer) -> None:
    assert _post(tsa.url, _request(), content_type="text/plain").status_code == 415
    assert httpx.get(tsa.url, timeout=10).status_code == 405
    assert _post(tsa.url, b"x" * (64 * 1024)).status_code == 413
    with socket.create_connection(tsa._server.server_address[:2]) as raw:  # no Content-Length
        raw.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 411")


def test_http_client_gets_tokens_and_refusals(tsa: TsaServer) -> None:
    stamper = HttpTimeStamper(tsa.url)
    token = asyncio.run(stamper.async_timestamp(bytes(32), "sha256"))
    assert token["content_type"].native == "signed_data"
    request = tsp.TimeStampReq.load(_request(algorithm="sha1", digest=bytes(20)))
    with pytest.raises(TimestampRequestError, match=r"refused the request \(rejection: bad_alg; hash algorithm sha1"):
        asyncio.run(stamper.async_request_tsa_response(request))


@pytest.fixture
def odd_server() -> Iterator[tuple[str, list[tuple[int, str, bytes]]]]:
    """An HTTP server answering whatever the test puts in ``answers`` (status, content type, body)."""
    answers: list[tuple[int, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            status, kind, body = answers.pop(0)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://bob:hunter2@127.0.0.1:{server.server_address[1]}/", answers
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("answer", "message"), [
    ((503, "text/plain", b"busy"), "answered HTTP 503"),
    ((200, "text/html", b"<html>"), "did not answer with application/timestamp-reply"),
    ((200, "application/timestamp-reply", b"\x30\x80garbage"), "unreadable reply"),
])
def test_http_client_errors(odd_server: tuple[str, list[tuple[int, str, bytes]]], answer: tuple[int, str, bytes],
                            message: str) -> None:
    url, answers = odd_server
    answers.append(answer)
    with pytest.raises(TimestampRequestError, match=message) as err:
        asyncio.run(HttpTimeStamper(url).async_timestamp(bytes(32), "sha256"))
    assert "hunter2" not in str(err.value) and "bob" not in str(err.value)


def test_unreachable_tsa_is_a_request_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TimestampRequestError, match="cannot be reached"):
        asyncio.run(HttpTimeStamper(f"http://127.0.0.1:{port}/", timeout=2).async_timestamp(bytes(32), "sha256"))


def test_local_stamper_uses_the_same_der_exchange(keys: KeyPaths) -> None:
    authority = TimeStampAuthority(load_tsa_identity(keys.tsa_p12, PASSPHRASE),
                                   clock=lambda: datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    token = asyncio.run(LocalTimeStamper(authority).async_timestamp(bytes(32), "sha256"))
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["gen_time"].native == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)  # whole seconds, accuracy 1 s
    assert info["accuracy"]["seconds"].native == 1
    digests = {a["algorithm"].native for a in token["content"]["digest_algorithms"]}
    assert digests == {algos.DigestAlgorithmId("sha256").native}
