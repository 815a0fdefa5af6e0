"""Simulated clients: each opens the link, asks for a code, reads it from the inbox, and signs or declines.

They use the portal's real HTML pages over HTTP, with cookies and CSRF tokens, as a phone browser would.
"""

from __future__ import annotations

import base64
import io
import re

import httpx
from PIL import Image, ImageDraw

from esign.demo.inbox import Inbox
from esign.errors import EsignError

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
