"""One web server for people: the clients' portal (``/s/...``, ``/verify``) and the staff register (``/staff``).

An edge: it wires the two apps to a worker's :class:`~esign.pipeline.services.Services`, so the pipeline below it
knows neither app.

The two are separate FastAPI apps with their own sessions, CSRF keys and pages; this dispatcher only routes by
path, so a client's cookie never reaches the staff pages' handlers and vice versa.
"""

from __future__ import annotations

from dataclasses import replace

from starlette.types import ASGIApp, Receive, Scope, Send

from esign.pipeline.services import Services
from esign.portal.services import PortalServices, PortalSettings

STAFF_PREFIX = "/staff"


def web_app(services: Services, *, code_posts_per_minute: int | None = None,
            uploads_per_minute: int | None = None) -> ASGIApp:
    from esign.portal.app import create_app
    from esign.register.app import create_register_app

    portal = create_app(portal_services(services, code_posts_per_minute=code_posts_per_minute,
                                        uploads_per_minute=uploads_per_minute))
    staff = create_register_app(services, secure_cookies=services.ws.settings.public_url.startswith("https://"))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "lifespan" and (path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")):
            await staff(scope, receive, send)
        else:
            await portal(scope, receive, send)

    return app


def portal_services(services: Services, *, code_posts_per_minute: int | None = None,
                    uploads_per_minute: int | None = None) -> PortalServices:
    """What the clients' portal needs, wired to this worker's ledger, requests and outbox.

    The per-IP limits default to PortalSettings'; the demo raises them because all its simulated clients share
    127.0.0.1 (the per-link limits on codes still apply).
    """
    from esign.pipeline.invitations import advance
    from esign.pipeline.messages import OutboxCodeSender
    from esign.portal.security import trusted_proxies
    from esign.verify import verify_untrusted

    ws = services.ws
    settings = replace(PortalSettings.from_settings(ws.settings, company=ws.company),
                       trusted_proxies=trusted_proxies(services.settings))
    if code_posts_per_minute is not None:
        settings = replace(settings, code_posts_per_minute=code_posts_per_minute)
    if uploads_per_minute is not None:
        settings = replace(settings, uploads_per_minute=uploads_per_minute)
    return PortalServices(
        ledger=ws.ledger, requests=services.requests, sender=OutboxCodeSender(services),
        settings=settings, verify=verify_untrusted, trust_roots=tuple(ws.trust_roots),
        after_answer=lambda document_id: advance(services, [document_id]),
    )
