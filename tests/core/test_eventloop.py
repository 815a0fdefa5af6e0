"""Signing and verifying work when the caller already runs an event loop (async handlers, notebooks)."""

from __future__ import annotations

import asyncio

from tests.support import complete_document, make_deal


def test_verify_and_sign_inside_a_running_loop(core_ws):
    async def inside():
        from esign.verify import verify_pdf
        doc = complete_document(core_ws, make_deal("7777"))
        return verify_pdf(core_ws.version_path("final", doc).read_bytes(), core_ws.ledger, core_ws.trust_roots)
    assert asyncio.run(inside()).authentic
