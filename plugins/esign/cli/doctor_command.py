"""``esign doctor`` (is this installation ready to run?) and ``esign db upgrade`` (bring the ledger to head).

The doctor runs every check even when an earlier one fails, so one run lists everything to fix, each with how
to fix it. Warnings (a certificate expiring soon) are printed but do not fail. Exit 0 when nothing failed; the
last check fails when documents are stuck (owing work for longer than ``stuck_after_minutes``) and lists them.
"""

from __future__ import annotations

import argparse
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from esign.cli import EXIT_FAIL, EXIT_OK
from esign.composition import read_settings
from esign.config import Settings, key_passphrase, link_secret
from esign.errors import EsignError

#: A signing certificate that expires sooner than this is a warning.
EXPIRY_WARNING_DAYS = 30
OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, the verdict, what was found and how to fix it."""

    name: str
    status: str
    detail: str
    fix: str = ""
    items: tuple[str, ...] = ()  # what the check found, one line each (the stuck documents)


def register(sub: Any) -> None:
    doctor = sub.add_parser("doctor", help="check configuration, database, migrations, keys, SMTP and CRM")
    doctor.add_argument("--timeout", type=float, default=10.0, help="seconds per network check (default 10)")
    doctor.add_argument("--stuck-after", type=int, metavar="MINUTES", default=None,
                        help="a document owing work for longer than this fails the last check (default: "
                             "stuck_after_minutes of config/pipeline.yaml, 60)")
    doctor.set_defaults(handler=doctor_command)


def db_upgrade(_args: argparse.Namespace) -> int:
    from esign.store import make_engine
    from esign.store.migrations import upgrade

    settings = read_settings()
    engine = make_engine(settings.database_url)
    try:
        head = upgrade(engine)
    finally:
        engine.dispose()
    print(f"ledger at revision {head} (head) in {_where(settings.database_url)}")
    return EXIT_OK


def doctor_command(args: argparse.Namespace) -> int:
    checks = run_checks(timeout=args.timeout, stuck_after=args.stuck_after)
    for check in checks:
        print(f"[{check.status:>4}] {check.name}: {check.detail}")
        for item in check.items:
            print(f"       - {item}")
        if check.fix:
            print(f"       fix: {check.fix}")
    failed = [c for c in checks if c.status == FAIL]
    warned = [c for c in checks if c.status == WARN]
    print(f"{len(checks)} checks: {len(failed)} failed, {len(warned)} warnings")
    return EXIT_FAIL if failed else EXIT_OK


def run_checks(environ: Mapping[str, str] | None = None, timeout: float = 10.0,
               now: datetime | None = None, stuck_after: int | None = None) -> list[Check]:
    """Every check, in order, on the settings of ``environ`` (default: this process's environment); a check that
    cannot run because an earlier one failed says so."""
    try:
        settings = read_settings(environ)
    except EsignError as exc:
        return [Check("configuration", FAIL, str(exc), "fix the variable named above")]
    checks = list(check_configuration(settings))
    engine = _engine(settings, timeout)
    try:
        checks.append(check_database(engine))
        reachable = checks[-1].status == OK
        checks.append(check_migrations(engine) if reachable else
                      Check("migrations", FAIL, "not checked: the database is not reachable", "fix the database first"))
        migrated = checks[-1].status == OK
        checks.append(check_keys(settings, now))
        checks.append(check_smtp(settings, timeout))
        checks.append(check_crm(settings, engine if reachable else None))
        checks.append(check_work(settings, engine, stuck_after, now) if migrated else
                      Check("work", FAIL, "not checked: the ledger is not reachable or not migrated",
                            "fix the database first"))
    finally:
        engine.dispose()
    return checks


def _engine(settings: Settings, timeout: float) -> Engine:
    """An engine that neither creates nor migrates anything, and gives up connecting after ``timeout``."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return create_engine(url, connect_args={"timeout": timeout})
    if url.get_backend_name() == "postgresql":
        return create_engine(url, connect_args={"connect_timeout": max(int(timeout), 1)})
    return create_engine(url)


def _guard(name: str, fix: str, body: Callable[[], Check]) -> Check:
    """Run one check; an unexpected exception is that check's failure, never the doctor's crash."""
    try:
        return body()
    except Exception as exc:  # the point of the doctor is to report any failure, whatever its type
        return Check(name, FAIL, _first_line(exc), fix)


def check_configuration(settings: Settings) -> list[Check]:
    """Files named by the settings, the pipeline configuration and the two secrets."""
    from esign.company import load_company
    from esign.pipeline.config import load_pipeline_config

    def company() -> Check:
        profile = load_company(settings.company_file)
        return Check("company", OK, f"{profile.party.name} ({settings.company_file})")

    def pipeline() -> Check:
        config = load_pipeline_config(settings.pipeline_file)
        return Check("pipeline", OK, f"crm {config.crm}, template {config.template}, channel {config.channel}")

    def templates() -> Check:
        if not settings.templates_dir.is_dir():
            return Check("templates", FAIL, f"{settings.templates_dir} is not a folder",
                         "set ESIGN_TEMPLATES_DIR to the templates folder")
        return Check("templates", OK, str(settings.templates_dir))

    def secrets_() -> Check:
        link_secret(settings.variables)
        key_passphrase(settings.variables)
        return Check("secrets", OK, "ESIGN_LINK_SECRET and ESIGN_KEY_PASSPHRASE are set (values not shown)")

    return [
        _guard("company", "set ESIGN_COMPANY_FILE to a valid company.yaml (see config/company.yaml)", company),
        _guard("pipeline", "fix ESIGN_PIPELINE_FILE (see config/pipeline.yaml)", pipeline),
        _guard("templates", "set ESIGN_TEMPLATES_DIR", templates),
        _guard("secrets", "set the variable named above, or NAME_FILE pointing at a file holding it", secrets_),
    ]


def check_database(engine: Engine) -> Check:
    def body() -> Check:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Check("database", OK, f"reachable: {_where(engine.url.render_as_string())}")

    return _guard("database", "check ESIGN_DATABASE_URL (host, port, database, user) and that the server is up",
                  body)


def check_migrations(engine: Engine) -> Check:
    from esign.store.migrations import current_revision, head_revision, is_unversioned_ledger

    def body() -> Check:
        head = head_revision()
        with engine.connect() as conn:
            current = current_revision(conn)
            legacy = current is None and is_unversioned_ledger(conn)
        if current == head:
            return Check("migrations", OK, f"at head ({head})")
        found = "an unversioned ledger" if legacy else f"revision {current or 'none (empty database)'}"
        return Check("migrations", FAIL, f"{found}, head is {head}", "run `esign db upgrade`")

    return _guard("migrations", "run `esign db upgrade`", body)


def check_keys(settings: Settings, now: datetime | None = None) -> Check:
    from esign.signing import describe_identity, load_identity

    def body() -> Check:
        identity = load_identity(settings.pkcs12_path, key_passphrase(settings.variables), settings.ca_cert_path)
        info = describe_identity(identity, now)
        days = int(info["days_left"])
        summary = f"{info['subject']}, valid until {info['not_after']}"
        if days < 0:
            return Check("keys", FAIL, f"the signing certificate expired: {summary}",
                         "install a renewed PKCS#12 in ESIGN_PKCS12_FILE")
        if days < EXPIRY_WARNING_DAYS:
            return Check("keys", WARN, f"the signing certificate expires in {days} days: {summary}",
                         "renew the certificate before it expires and replace ESIGN_PKCS12_FILE")
        return Check("keys", OK, f"{summary} ({days} days left)")

    return _guard("keys", f"check ESIGN_PKCS12_FILE ({settings.pkcs12_path}), ESIGN_CA_CERT_FILE and "
                  "ESIGN_KEY_PASSPHRASE; for the demo, run `esign keys init`", body)


def check_smtp(settings: Settings, timeout: float = 10.0) -> Check:
    """Connect and greet (EHLO, and STARTTLS when configured); no message is sent, no login tried."""
    from esign.dispatch.email import SmtpSettings

    def body() -> Check:
        smtp = SmtpSettings.from_group(settings.variables.smtp)
        client: smtplib.SMTP
        if smtp.ssl:
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        try:
            code, _ = client.ehlo()
            if code != 250:
                return Check("smtp", FAIL, f"{smtp.host}:{smtp.port} answered EHLO with {code}",
                             "check that ESIGN_SMTP_HOST/PORT name an SMTP server")
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        finally:
            client.close()
        return Check("smtp", OK, f"{smtp.host}:{smtp.port} answers EHLO")

    return _guard("smtp", "check ESIGN_SMTP_HOST/PORT/SSL/STARTTLS (or the smtp_default Connection) and that "
                  "the relay is up", body)


def check_crm(settings: Settings, engine: Engine | None) -> Check:
    """List the CRM's stages and check the configured stage codes against them."""
    from esign.pipeline.config import load_pipeline_config

    def body() -> Check:
        config = load_pipeline_config(settings.pipeline_file)
        if config.crm == "local" and engine is None:
            return Check("crm", FAIL, "not checked: the embedded CRM lives in the unreachable database",
                         "fix the database first")
        from esign.crm.registry import CrmContext, build_crm

        crm = build_crm(config.crm, CrmContext(engine=engine, settings=settings.variables,
                                               state_dir=settings.workdir / "run"))
        stages = crm.list_stages()
        if not stages:
            return Check("crm", FAIL, f"{config.crm}: no deal stages", "seed the embedded CRM (`esign crm seed`) "
                         "or check the CRM's pipelines")
        from esign.crm.bitrix24.stages import looks_like_code, resolve_stage_map

        mapping = config.stages
        if not all(looks_like_code(code) for code in mapping.as_dict().values()):
            mapping = resolve_stage_map(mapping, stages)
        mapping.validate(stages)
        return Check("crm", OK, f"{config.crm}: {len(stages)} stages, configured stages found")

    return _guard("crm", "check the CRM settings (ESIGN_BITRIX24_WEBHOOK, `crm` and the stage codes in "
                  "config/pipeline.yaml); `esign crm stages` lists what the CRM has", body)


def check_work(settings: Settings, engine: Engine, stuck_after: int | None = None,
               now: datetime | None = None) -> Check:
    """Documents owing work (signature, invitation, sealing, a CRM write-back) for longer than the threshold."""
    from datetime import timedelta

    from esign.cli.ops_commands import stuck_lines
    from esign.pipeline.config import load_pipeline_config
    from esign.pipeline.stuck import stuck_documents

    def body() -> Check:
        minutes = stuck_after or load_pipeline_config(settings.pipeline_file).stuck_after_minutes
        report = stuck_documents(engine, timedelta(minutes=minutes), now=now)
        if not report.total:
            return Check("work", OK, f"no document owes work for more than {minutes} min")
        return Check("work", FAIL, f"{report.total} document(s) owe work for more than {minutes} min",
                     "check that esign_collect runs and its last runs' errors (the ops e-mail); run esign_send to "
                     "get unapproved drafts approved; `esign status` lists them too", tuple(stuck_lines(report)))

    return _guard("work", "check the ledger (ESIGN_DATABASE_URL) and `esign db upgrade`", body)


def _where(url: str) -> str:
    """A database URL without its credentials."""
    return url.split("@")[-1]


def _first_line(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text_[0]}" if text_ else type(exc).__name__
