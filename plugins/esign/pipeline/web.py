"""One web server for people: the clients' portal (``/s/...``, ``/verify``) and the staff register (``/staff``).

The two are separate FastAPI apps with their own sessions, CSRF keys and pages; this dispatcher only routes by
path, so a client's cookie never reaches the staff pages' handlers and vice versa.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from esign.pipeline.services import Services, portal_services

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
