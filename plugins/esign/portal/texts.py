"""What a client reads when something cannot be done, in the client's language.

The signing domain raises errors with a stable ``reason`` (and details such as the tries left); the words a
person reads are chosen here, from the catalogue, so the domain's own messages stay in the logs.
"""

from __future__ import annotations

from esign.errors import PortalError
from esign.i18n import N_, Translator
from esign.portal.forms import BodyTooLargeError
from esign.requests import CodeError, InvalidInputError, ThrottledError

#: One-time code problems by reason.
CODE_TEXTS: dict[str, str] = {
    "code_missing": N_("Ask for a new code."),
    "code_burned": N_("Too many wrong attempts; ask for a new code."),
    "code_expired": N_("The code has expired; ask for a new code."),
}
#: Unusable form fields by field name.
FIELD_TEXTS: dict[str, str] = {
    "typed_name": N_("Type your full name (letters only, up to 200 characters)."),
    "reason": N_("Tell us the reason for declining (up to 1,000 characters)."),
    "drawn_png": N_("The drawn signature could not be read; clear it and draw it again."),
}
CONSENT_TEXT = N_("You need to agree to the terms to sign.")
BAD_FORM_TEXT = N_("The form could not be read; go back and try again.")
DECLINED_BY_OTHER = N_("Another signer declined this document, so it will not be signed. Nothing more is needed "
                       "from you.")


def client_text(exc: PortalError, t: Translator) -> str:
    """The sentence a client reads for ``exc``; empty when the page's own text for its reason says it all."""
    if isinstance(exc, ThrottledError):
        return t.ngettext("Too many attempts; wait %(num)d second and try again.",
                          "Too many attempts; wait %(num)d seconds and try again.",
                          exc.retry_after) % {"num": exc.retry_after}
    if isinstance(exc, CodeError):
        if exc.reason == "code_invalid":
            return t.ngettext("Wrong code; %(num)d attempt left.", "Wrong code; %(num)d attempts left.",
                              exc.tries_left) % {"num": exc.tries_left}
        return t.gettext(CODE_TEXTS.get(exc.reason, CODE_TEXTS["code_missing"]))
    if isinstance(exc, InvalidInputError):
        text = FIELD_TEXTS.get(exc.field)
        return t.gettext(text) if text else t.gettext(BAD_FORM_TEXT)
    if isinstance(exc, BodyTooLargeError):
        return t.gettext("What you sent is over the limit of %(mb)s MB.") % {"mb": exc.limit_mb}
    reason = str(getattr(exc, "reason", ""))
    if reason == "consent_required":
        return t.gettext(CONSENT_TEXT)
    if reason == "bad_form":
        return t.gettext(BAD_FORM_TEXT)
    if reason in ("not_found", "bad_upload"):  # the verification pages raise these already translated
        return str(exc)
    return ""
