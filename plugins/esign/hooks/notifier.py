"""The failure notice of every esign task: Airflow's ``SmtpNotifier`` on the ``smtp_default`` Connection.

A task that failed for good (retries exhausted, or a configuration or key error that fails at once) is logged and,
when ``ESIGN_OPS_EMAIL`` is set, emailed to ops in the company's language. The relay is the one the pipeline's own
mail uses: the ``smtp_default`` Connection (SSL, STARTTLS, timeout, from address as Airflow's SMTP provider reads
them), or, when there is no such Connection, the ``ESIGN_SMTP_*`` variables. A failing notice never raises: it
must not hide the task's own failure.
"""

from __future__ import annotations

import html
import json
import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from esign.errors import ConfigError
from esign.settings import load_settings

if TYPE_CHECKING:
    from airflow.sdk import Context

    from esign.i18n import Translator

log = logging.getLogger(__name__)

#: Where the notice goes; unset: the failure is only logged.
OPS_EMAIL_ENV = "ESIGN_OPS_EMAIL"


class EnvFallbackSmtpHook(SmtpHook):
    """Airflow's SMTP hook; without the Connection, the relay the ``ESIGN_SMTP_*`` variables describe."""

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        try:
            conn: Connection = super().get_connection(conn_id)
        except AirflowNotFoundException:  # not configured; a secrets backend's own error propagates
            return smtp_connection_from_env(conn_id)
        return conn


def smtp_connection_from_env(conn_id: str, environ: dict[str, str] | None = None) -> Connection:
    """The ``ESIGN_SMTP_*`` relay as an SMTP Connection of Airflow's SMTP provider."""
    from esign.dispatch.email import SmtpSettings

    smtp = SmtpSettings.from_group(load_settings(environ, lenient=True).smtp)  # a wrong variable must not stop it
    extra = {"from_email": smtp.from_addr, "timeout": smtp.timeout, "disable_ssl": not smtp.ssl,
             "disable_tls": not smtp.starttls}
    return Connection(conn_id=conn_id, conn_type="smtp", host=smtp.host, port=smtp.port,
                      login=smtp.username or None, password=smtp.password or None, extra=json.dumps(extra))


class FailureNotifier(SmtpNotifier):
    """``on_failure_callback`` of every esign task (see the module's docstring)."""

    def __init__(self, smtp_conn_id: str = "smtp_default", **kwargs: Any) -> None:
        super().__init__(to="", smtp_conn_id=smtp_conn_id, **kwargs)

    @cached_property
    def hook(self) -> SmtpHook:
        return EnvFallbackSmtpHook(smtp_conn_id=self.smtp_conn_id, auth_type=self.auth_type)

    def notify(self, context: Context) -> None:
        ti = context.get("ti")
        dag_id, task_id = getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?")
        run_id, try_number = context.get("run_id", "?"), getattr(ti, "try_number", "?")
        error = repr(context.get("exception"))
        log.error("esign task failed: %s.%s run %s try %s: %s", dag_id, task_id, run_id, try_number, error)
        recipient = load_settings(lenient=True).ops_email  # the failure may be a wrong variable: still tell ops
        if not recipient:
            return
        try:
            from esign.hooks.airflow_services import smtp_from_connection

            t = _ops_translator()
            task = f"{dag_id}.{task_id}"
            self.to = recipient
            try:
                self.from_email = smtp_from_connection(self.smtp_conn_id).from_addr
            except ConfigError:  # another ESIGN_* variable is wrong (maybe what this notice reports)
                self.from_email = load_settings(lenient=True).smtp.from_
            self.subject = t.gettext("[esign] task failed: {task}").format(task=task)
            what = t.gettext("{task} failed in run {run_id}, try {try_number}: {error}").format(
                task=task, run_id=run_id, try_number=try_number, error=error)
            where = t.gettext("See the task log in Airflow for details.")
            self.html_content = f"<p>{html.escape(what)}</p>\n<p>{html.escape(where)}</p>\n"
            super().notify(context)
        except Exception:  # the notice is best effort; the failure is already logged above
            log.exception("could not email the failure notice to %s", OPS_EMAIL_ENV)
        finally:  # one notifier serves every task of a DAG: the next call renders nothing of this one's text
            self.to, self.from_email, self.subject, self.html_content = "", None, None, None


def _ops_translator() -> Translator:
    """The company's language (its company file), else the default (pt-BR)."""
    from esign.i18n import translator

    try:
        from esign.company import load_company
        from esign.config import Settings

        return load_company(Settings.from_env().company_file).translator()
    except Exception:  # a broken configuration may be why the task failed: the notice still goes out
        log.warning("company file unreadable: the failure notice is in the default language", exc_info=True)
        return translator()
