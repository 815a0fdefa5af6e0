"""Simulated clients: each opens the link, asks for a code, reads it from the inbox, and signs or declines.

They use the portal's real HTML pages over HTTP, with cookies and CSRF tokens, as a phone browser would.
"""

from __future__ import annotations

import base64
import io
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from PIL import Image, ImageDraw

from esign.demo.inbox import Inbox
from esign.errors import EsignError

#: What ten demo clients do: seven sign, one declines, two never open the link. On a document with several signers
#: "sign" is every signer signing in turn, "decline" the first signing and the second declining.
CLIENT_MIX = ("sign",) * 7 + ("decline",) + ("none",) * 2
#: How long a signer waits for their invitation after the one before them signed (the portal sends it at once).
INVITE_WAIT = 20.0
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36"


class ClientError(EsignError):
    """A simulated client could not complete its step (the portal answered something unexpected)."""


def _csrf(response: httpx.Response) -> str:
    if response.status_code >= 400:
        raise ClientError(f"{response.request.method} {response.request.url.path}: HTTP {response.status_code}")
    match = _CSRF.search(response.text)
    if not match:
        raise ClientError(f"{response.request.url.path}: no form on the page")
    return match.group(1)


def drawn_signature(seed: int) -> str:
    """A small hand-drawn-looking signature as a PNG data URL (what the page's canvas produces)."""
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    pen = ImageDraw.Draw(image)
    points = [(20 + i * 13, 60 + ((i * 7 + seed) % 11 - 5) * 4) for i in range(20)]
    pen.line(points, fill=(20, 40, 120, 255), width=3, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def act(link: str, destination: str, inbox: Inbox, *, decision: str, name: str, seed: int = 0) -> str:
    """Open ``link`` and sign (``decision='sign'``) or decline; returns the final page's path."""
    with httpx.Client(headers={"User-Agent": PHONE_UA}, timeout=30, follow_redirects=False) as http:
        page = http.get(link)
        token_path = httpx.URL(link).path
        intent = "sign" if decision == "sign" else "decline"
        code_page = http.post(f"{link}/code", data={"csrf": _csrf(page), "intent": intent})
        code_csrf = _csrf(code_page)  # raises on a refusal (e.g. 429) before looking for a code
        code = inbox.latest_code(destination)
        if code is None:
            raise ClientError(f"{token_path}: no code arrived for {destination}")
        step = http.post(f"{link}/verify", data={"csrf": code_csrf, "intent": intent, "code": code})
        csrf = _csrf(step)
        if decision == "sign":
            form = {"csrf": csrf, "typed_name": name, "consent": "yes",
                    "drawn_png": drawn_signature(seed) if seed % 2 == 0 else ""}
            done = http.post(f"{link}/sign", data=form)
        else:
            done = http.post(f"{link}/decline", data={"csrf": csrf, "reason": "Valores diferentes do combinado."})
        if done.status_code != 303:
            raise ClientError(f"{token_path}: {decision} answered HTTP {done.status_code}")
        return done.headers["location"]


def act_as_clients(ws: Any, services: Any, inbox: Inbox, seed: int,
                   echo: Callable[[str], None]) -> dict[str, int]:
    """Every sent document's signers act as ``CLIENT_MIX`` says, in their signing order; order shuffled by seed.
    The counts: documents signed, declined, left pending, and signatures given."""
    from esign.model import Stage
    from esign.model.signers import signing_signers

    actions: Counter[str] = Counter()
    pending = ws.ledger.list_by_stage(Stage.SENT, limit=100_000)
    random.Random(seed).shuffle(pending)
    for n, record in enumerate(pending):
        decision = CLIENT_MIX[n % len(CLIENT_MIX)]
        if decision == "none":
            actions["left pending"] += 1
            continue
        people = signing_signers(record.signers)
        try:
            for turn, signer in enumerate(people):
                declines = decision == "decline" and (turn == 1 or len(people) == 1)
                link, destination = _wait_for_invitation(services, inbox, record.id, signer.position)
                act(link, destination, inbox, decision="decline" if declines else "sign",
                    name=signer.name or record.counterparty_name, seed=n + turn)
                actions["signatures" if not declines else "refusals"] += 1
                if declines:
                    break
            actions["signed" if decision == "sign" else "declined"] += 1
            if len(people) > 1:
                actions["documents with several signers"] += 1
        except EsignError as exc:
            actions["client errors"] += 1
            echo(f"    client of {record.id}: {exc}")
        if (n + 1) % 10 == 0:
            echo(f"    {n + 1}/{len(pending)} documents done")
    return dict(actions)


def _wait_for_invitation(services: Any, inbox: Inbox, document_id: str, position: int) -> tuple[str, str]:
    """The signer's link from their invitation, once it arrived (the next signer's is sent right after the
    previous one signed)."""
    from esign.dispatch.records import message_id_for

    deadline = time.monotonic() + INVITE_WAIT
    while True:
        request = services.requests.current_for_documents([document_id]).get(document_id, {}).get(position)
        link = inbox.signing_link(message_id_for(f"invite:{request.id}")) if request is not None else None
        if link is not None and request is not None:
            return link, request.destination
        if time.monotonic() > deadline:
            raise ClientError(f"{document_id}: signer {position} got no invitation in {INVITE_WAIT:.0f} s")
        time.sleep(0.2)
