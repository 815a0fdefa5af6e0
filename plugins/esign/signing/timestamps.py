"""Where seals get their RFC 3161 timestamp: the configured TSA over HTTP, else the embedded demo authority.

``ESIGN_TSA_URL`` (the Airflow Connection ``esign_tsa`` fills it; optional ``ESIGN_TSA_USERNAME`` and
``ESIGN_TSA_PASSWORD`` for HTTP basic authentication) names a TSA speaking RFC 3161 over HTTP. Without it, the
demo authority made by ``esign keys init`` answers in-process, like the demo CA signs without a service.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from asn1crypto import tsp
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from esign.config import Settings, tsa_credentials
from esign.errors import ConfigError
from esign.signing.tsa import TSA_P12_NAME, Refusal, TimeStampAuthority, load_tsa_identity

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
#: A TSA answers in milliseconds; a seal waits this long at most before the run is retried later.
TIMEOUT_SECONDS = 10.0


class HttpTimeStamper(TimeStamper):
    """RFC 3161 §3.4 over HTTP(S), one connection pool per worker (loopback round trips stay under a millisecond)."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, timeout: float = TIMEOUT_SECONDS) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.url = url
        self._where = urlsplit(url).netloc.rpartition("@")[2]  # never the credentials, in messages
        self._client = httpx.Client(timeout=timeout, auth=auth, headers={"Accept": REPLY_TYPE})

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            response = self._client.post(self.url, content=req.dump(), headers={"Content-Type": QUERY_TYPE})
        except httpx.HTTPError as exc:
            raise TimestampRequestError(f"the TSA at {self._where} cannot be reached ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise TimestampRequestError(f"the TSA at {self._where} answered HTTP {response.status_code}")
        if response.headers.get("content-type", "").split(";")[0].strip().lower() != REPLY_TYPE:
            raise TimestampRequestError(f"the TSA at {self._where} did not answer with {REPLY_TYPE}")
        return _reply(response.content, self._where)


def _reply(data: bytes, where: str) -> tsp.TimeStampResp:
    """The TSA's answer; a refusal (no token) raises with the TSA's own reason."""
    try:
        reply = tsp.TimeStampResp.load(data, strict=True)
        reply["time_stamp_token"]["content_type"].native  # noqa: B018 -- a token, readable: the normal case
        return reply
    except (ValueError, TypeError, KeyError):
        pass
    try:
        status = Refusal.load(data, strict=True)["status"]
        said = f"{status['status'].native}: {', '.join(sorted(status['fail_info'].native or ()))}"
        text = " ".join(status["status_string"].native or ())
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampRequestError(f"the TSA at {where} sent an unreadable reply") from exc
    raise TimestampRequestError(f"the TSA at {where} refused the request ({said}{'; ' + text if text else ''})")


class LocalTimeStamper(TimeStamper):
    """The embedded authority answering in-process, through the same DER request and reply as over HTTP."""

    def __init__(self, authority: TimeStampAuthority) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return _reply(self._authority.respond(req.dump()), "the embedded authority")


def timestamper_for(settings: Settings, passphrase: bytes) -> TimeStamper:
    """The configured TSA, else the demo authority in the keys folder; neither is a configuration error."""
    if settings.tsa_url:
        return HttpTimeStamper(settings.tsa_url, tsa_credentials(settings.variables))
    demo = settings.keys_dir / TSA_P12_NAME
    if demo.exists():
        return LocalTimeStamper(TimeStampAuthority(load_tsa_identity(demo, passphrase)))
    raise ConfigError(f"ESIGN_TSA_URL: not set, and there is no demo TSA in {settings.keys_dir} (final seals carry "
                      "an RFC 3161 timestamp: set the URL of a time-stamping authority)")
