"""Jinja2 environments that translate through :class:`esign.i18n.Translator`.

The i18n extension resolves ``gettext``/``ngettext`` from the render context before the environment's globals, so
one shared environment serves readers of different languages at once: render with ``**translator.jinja_context()``.
New-style gettext: ``{% trans name=x %}…%(name)s…{% endtrans %}`` and ``_("… %(name)s", name=x)`` fill the
placeholders after translating and autoescape them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

if TYPE_CHECKING:
    from esign.i18n.catalog import Translator


def _finish(context: jinja2.runtime.Context, text: str, variables: dict[str, Any]) -> str:
    # the translated text is ours (from the catalogue), not input: safe to mark; the variables get escaped
    result: str = Markup(text) if context.eval_ctx.autoescape else text  # noqa: S704
    return result % variables  # always a format string, as Jinja's own new-style gettext


def context_for(t: Translator) -> dict[str, Any]:
    """Render-context names for a template in ``t``'s language (see :meth:`Translator.jinja_context`)."""

    @jinja2.pass_context
    def gettext(context: jinja2.runtime.Context, message: str, **variables: Any) -> str:
        return _finish(context, t.gettext(message), variables)

    @jinja2.pass_context
    def ngettext(context: jinja2.runtime.Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        return _finish(context, t.ngettext(singular, plural, num), variables)

    @jinja2.pass_context
    def pgettext(context: jinja2.runtime.Context, ctx: str, message: str, **variables: Any) -> str:
        return _finish(context, t.pgettext(ctx, message), variables)

    @jinja2.pass_context
    def npgettext(context: jinja2.runtime.Context, ctx: str, singular: str, plural: str, num: int,
                  **variables: Any) -> str:
        variables.setdefault("num", num)
        return _finish(context, t.npgettext(ctx, singular, plural, num), variables)

    names: dict[str, Callable[..., str] | Any] = {
        "gettext": gettext, "_": gettext, "ngettext": ngettext, "pgettext": pgettext, "npgettext": npgettext,
        "i18n": t, "lang": t.locale.replace("_", "-"),
    }
    return names


def install(env: jinja2.Environment) -> jinja2.Environment:
    """Add the i18n extension with the company default as the fallback when a render passes no translator."""
    from esign.i18n.catalog import translator

    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # as extraction reads them: a msgid does not depend on line breaks
    default = translator()
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        default.gettext, default.ngettext, newstyle=True, pgettext=default.pgettext, npgettext=default.npgettext)
    env.globals["i18n"] = default
    env.globals["lang"] = default.locale.replace("_", "-")
    return env
