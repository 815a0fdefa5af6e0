"""Logging in and out of the register.

A login is refused alike for an unknown login, a wrong password, a user without a password and a deactivated
user, after the same password-hashing work (no timing oracle). Two limits stop guessing: per client address
(``logins_per_minute``, the real client behind trusted proxies) and per account (:mod:`esign.access.lockout`).
Logging out ends every session of the user and revokes their API tokens.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from esign.access import LoginLockedError, UnknownUserError
from esign.portal.security import RateLimiter
from esign.register.session import SESSION_COOKIE, SESSION_SECONDS
from esign.register.web import PREFIX, Register


def build_router(reg: Register, logins_per_minute: int) -> APIRouter:
    router = APIRouter()
    limiter = RateLimiter(logins_per_minute)
    t = reg.t

    def refused(request: Request, error: str, status: int, wait: int | None = None) -> Response:
        response = reg.render(request, "login.html", {"error": error, "user": None}, status)
        if wait is not None:
            response.headers["Retry-After"] = str(wait)
        return response

    @router.get(f"{PREFIX}/login")
    def login_form(request: Request) -> Response:
        return reg.render(request, "login.html", {"error": "", "user": None})

    @router.post(f"{PREFIX}/login")
    async def login(request: Request) -> Response:
        wait = limiter.hit(request.client.host if request.client else "")
        if wait is not None:
            return refused(request, t.gettext("Too many attempts from this address; wait %(seconds)s seconds and "
                                              "try again.") % {"seconds": wait}, 429, wait)
        data = await reg.form(request)
        try:
            principal = reg.store.authenticate_password(data.get("login", "").strip(), data.get("password", ""))
        except LoginLockedError as exc:
            return refused(request, t.gettext("Too many wrong passwords for this login; wait %(seconds)s seconds "
                                              "and try again.") % {"seconds": exc.retry_after}, 429, exc.retry_after)
        except UnknownUserError:
            return refused(request, t.gettext("Wrong login or password."), 401)
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(SESSION_COOKIE, reg.sessions.issue(principal.login), httponly=True, samesite="strict",
                            secure=reg.secure_cookies, path=PREFIX, max_age=SESSION_SECONDS)
        return response

    @router.post(f"{PREFIX}/logout")
    async def logout(request: Request) -> Response:
        await reg.form(request)
        reg.sessions.end(request)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    return router
