"""``esign roles``, ``esign users``, ``esign approve`` and ``esign document``: permissions and checked actions.

Once at least one user exists, every command that changes something needs ``--as USER`` and that user's right:
``settings.manage`` for roles and users, ``company.sign`` to approve a run, the document rights for
``esign document cancel|resend|extend``. Before that (a fresh install), roles and users can be set up freely.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from esign.access import AccessDeniedError, AccessStore, Level, Principal, Right
from esign.access.rights import parse_right
from esign.cli import EXIT_OK, UsageError


def register(sub: Any) -> None:
    roles = sub.add_parser("roles", help="roles and their rights (access levels)")
    roles_sub = roles.add_subparsers(dest="roles_command", required=True, metavar="ACTION")
    roles_sub.add_parser("list", help="every role with its rights").set_defaults(handler=roles_list)
    _as(roles_sub.add_parser("init", help="create the default roles")).set_defaults(handler=roles_init)
    save = _as(roles_sub.add_parser("set", help="create or change a role: RIGHT=LEVEL ..."))
    save.add_argument("role")
    save.add_argument("grants", nargs="*", metavar="RIGHT=LEVEL", help="e.g. documents.view=department")
    save.add_argument("--description", default="")
    save.set_defaults(handler=roles_set)
    drop = _as(roles_sub.add_parser("delete", help="delete a role"))
    drop.add_argument("role")
    drop.set_defaults(handler=roles_delete)

    users = sub.add_parser("users", help="users, their roles, passwords and API tokens")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    users_sub.add_parser("list", help="every user").set_defaults(handler=users_list)
    add = _as(users_sub.add_parser("add", help="add a user (password read from stdin with --password-stdin)"))
    add.add_argument("login")
    add.add_argument("--name", default="")
    add.add_argument("--manager", help="the CRM manager ID this user is")
    add.add_argument("--role", action="append", default=[], help="repeatable")
    add.add_argument("--airflow-user", help="the Airflow login that answers approvals as this user")
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(handler=users_add)
    for name, helptext in (("grant", "give a role"), ("revoke", "take a role away")):
        p = _as(users_sub.add_parser(name, help=helptext))
        p.add_argument("login")
        p.add_argument("role")
        p.set_defaults(handler=users_grant if name == "grant" else users_revoke)
    passwd = _as(users_sub.add_parser("passwd", help="set a password (read from stdin or asked)"))
    passwd.add_argument("login")
    passwd.set_defaults(handler=users_passwd)
    token = _as(users_sub.add_parser("token", help="issue an API token (printed once)"))
    token.add_argument("login")
    token.add_argument("--label", default="")
    token.set_defaults(handler=users_token)
    for name, helptext in (("deactivate", "stop a user from acting"), ("activate", "let a user act again")):
        p = _as(users_sub.add_parser(name, help=helptext))
        p.add_argument("login")
        p.set_defaults(handler=users_deactivate if name == "deactivate" else users_activate)

    approve = _as(sub.add_parser("approve", help="approve a send run's batches for the company signature"))
    approve.add_argument("run_id")
    approve.set_defaults(handler=approve_command)

    doc = sub.add_parser("document", help="act on one document: cancel, resend, extend")
    doc_sub = doc.add_subparsers(dest="document_command", required=True, metavar="ACTION")
    cancel = _as(doc_sub.add_parser("cancel", help="cancel an open document"))
    cancel.add_argument("document_id")
    cancel.add_argument("--reason", default="")
    cancel.set_defaults(handler=document_cancel)
    resend = _as(doc_sub.add_parser("resend", help="send the signing link again now (once per 5 minutes, 3 a day)"))
    resend.add_argument("document_id")
    resend.add_argument("--signer", type=int, metavar="POSITION",
                        help="the signer whose link to resend (their position); default: the first with an open link")
    resend.set_defaults(handler=document_resend)
    extend = _as(doc_sub.add_parser("extend", help="push the link's expiry further"))
    extend.add_argument("document_id")
    extend.add_argument("--days", type=int, default=7)
    extend.set_defaults(handler=document_extend)


def _as(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--as", dest="as_user", metavar="USER", help="the esign user acting (required once "
                        "permissions are configured)")
    return parser


def _store() -> AccessStore:
    from esign.composition import workspace_for

    return AccessStore(workspace_for().engine)


def acting(store: AccessStore, args: argparse.Namespace, right: Right | None) -> Principal | None:
    """The ``--as`` user, checked for ``right`` at level ``all``; None while permissions are not configured."""
    login = getattr(args, "as_user", None)
    if not store.configured():
        return store.principal(login) if login else None
    if not login:
        raise UsageError("permissions are configured: say who acts with --as USER")
    principal = store.principal(login)
    if right is not None and principal.level(right) is not Level.ALL:
        raise AccessDeniedError(f"{login} lacks the right {right.value}")
    return principal


def roles_list(args: argparse.Namespace) -> int:
    for role in _store().roles():
        grants = ", ".join(f"{r.value}={lvl.name.lower()}" for r, lvl in sorted(role.rights.items()))
        print(f"{role.name}: {grants or '(no rights)'}")
    return EXIT_OK


def roles_init(args: argparse.Namespace) -> int:
    store = _store()
    acting(store, args, Right.SETTINGS_MANAGE)
    created = store.ensure_default_roles()
    print(f"created: {', '.join(created) or 'nothing (all default roles exist)'}")
    return EXIT_OK


def roles_set(args: argparse.Namespace) -> int:
    store = _store()
    acting(store, args, Right.SETTINGS_MANAGE)
    rights: dict[Right, Level] = {}
    for grant in args.grants:
        right, sep, level = grant.partition("=")
        if not sep:
            raise UsageError(f"{grant!r}: write RIGHT=LEVEL, e.g. documents.view=own")
        rights[parse_right(right)] = Level.parse(level)
    existing = {r.name: r for r in store.roles()}
    base = dict(existing[args.role].rights) if args.role in existing else {}
    store.save_role(args.role, {**base, **rights}, description=args.description)
    print(f"role {args.role} saved")
    return EXIT_OK


def roles_delete(args: argparse.Namespace) -> int:
    store = _store()
    acting(store, args, Right.SETTINGS_MANAGE)
    if not store.delete_role(args.role):
        raise UsageError(f"unknown role {args.role!r}")
    print(f"role {args.role} deleted")
    return EXIT_OK


def users_list(args: argparse.Namespace) -> int:
    for u in _store().users():
        state = "" if u.active else " (deactivated)"
        print(f"{u.login}{state}: {u.name or '-'}, manager {u.manager_id or '-'}, roles {', '.join(u.roles) or '-'}"
              f", airflow {u.airflow_user or '-'}, password {'set' if u.has_password else 'none'}")
    return EXIT_OK


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Password: ")


def users_add(args: argparse.Namespace) -> int:
    store = _store()
    acting(store, args, Right.SETTINGS_MANAGE)
    password = _read_password(True) if args.password_stdin else None
    try:
        store.add_user(args.login, name=args.name, manager_id=args.manager, roles=tuple(args.role),
                       password=password, airflow_user=args.airflow_user)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(f"user {args.login} added")
    return EXIT_OK


def users_grant(args: argparse.Namespace) -> int:
    store = _store()
    acting(store, args, Right.SETTINGS_MANAGE)
    store.grant(args.login, args.role)
    print(f"{args.login} holds {args.role}")
    return EXIT_OK


def users_revoke(args: argparse.Namespace) -> int:
    store = _store()
    acting(store, args, Right.SETTINGS_MANAGE)
    store.revoke(args.login, args.role)
    print(f"{args.login} no longer holds {args.role}")
    return EXIT_OK


def users_passwd(args: argparse.Namespace) -> int:
    store = _store()
    actor = acting(store, args, None)
    if actor is not None and actor.login != args.login and actor.level(Right.SETTINGS_MANAGE) is not Level.ALL:
        raise AccessDeniedError(f"{actor.login} may only change their own password")
    try:
        store.set_password(args.login, _read_password(False))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(f"password of {args.login} set")
    return EXIT_OK


def users_token(args: argparse.Namespace) -> int:
    store = _store()
    actor = acting(store, args, None)
    if actor is not None and actor.login != args.login and actor.level(Right.SETTINGS_MANAGE) is not Level.ALL:
        raise AccessDeniedError(f"{actor.login} may only issue tokens for themselves")
    print(store.issue_token(args.login, args.label))
    return EXIT_OK


def users_deactivate(args: argparse.Namespace) -> int:
    store = _store()
    acting(store, args, Right.SETTINGS_MANAGE)
    store.set_active(args.login, False)
    print(f"{args.login} deactivated")
    return EXIT_OK


def users_activate(args: argparse.Namespace) -> int:
    store = _store()
    acting(store, args, Right.SETTINGS_MANAGE)
    store.set_active(args.login, True)
    print(f"{args.login} activated")
    return EXIT_OK


def approve_command(args: argparse.Namespace) -> int:
    from esign.composition import services_for
    from esign.pipeline import send

    services = services_for()
    store = AccessStore(services.ws.engine)
    login = args.as_user
    if store.configured() and not login:
        raise UsageError("permissions are configured: say who approves with --as USER")
    count = send.approve_run(services, args.run_id, f"cli:{login or 'operator'}", user=login)
    print(f"{count} batch(es) of run {args.run_id} approved")
    return EXIT_OK


def _document_actor(args: argparse.Namespace) -> tuple[Any, Principal]:
    from esign.composition import services_for
    from esign.register.actions import DocumentActions

    services = services_for()
    store = AccessStore(services.ws.engine)
    principal = acting(store, args, None)
    if principal is None:  # not configured: the operator acts with every right
        principal = Principal(args.as_user or "operator", levels=dict.fromkeys(Right, Level.ALL))
    return DocumentActions(services), principal


def document_cancel(args: argparse.Namespace) -> int:
    from esign.register import outcomes

    actions, who = _document_actor(args)
    done = actions.cancel(who, args.document_id, args.reason)
    print(f"{args.document_id}: {outcomes.canceled(actions.services.ws.company.translator(), done)}")
    return EXIT_OK


def document_resend(args: argparse.Namespace) -> int:
    from esign.register import outcomes

    actions, who = _document_actor(args)
    resend, entry = actions.resend(who, args.document_id, signer=getattr(args, "signer", None))
    print(f"{args.document_id}: {outcomes.resent(actions.services.ws.company.translator(), resend, entry)}")
    return EXIT_OK


def document_extend(args: argparse.Namespace) -> int:
    from esign.register import outcomes

    actions, who = _document_actor(args)
    new = actions.extend(who, args.document_id, args.days)
    print(f"{args.document_id}: {outcomes.extended(actions.services.ws.company.translator(), new)}")
    return EXIT_OK
