"""Finish the client's answers a crash split in two, once: from here on they cannot be split.

Until this revision a signing request was closed in one transaction and its document moved in the next; a crash
between the two left a signed (or declined) request beside a document still ``sent`` or ``viewed``, and every
collect run looked for such pairs to finish the move. Both writes now commit together, so that repair runs once,
here, for what an older release may have left. Data only: the schema does not change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The tables as this revision knows them (not the application's current metadata, which may change later).
_requests = sa.table("signing_requests", sa.column("document_id", sa.String), sa.column("status", sa.String),
                     sa.column("channel", sa.String), sa.column("sign_ip", sa.String),
                     sa.column("sign_user_agent", sa.Text))
_documents = sa.table("documents", sa.column("id", sa.String), sa.column("stage", sa.String),
                      sa.column("updated_at", sa.DateTime(timezone=True)))
_events = sa.table("events", sa.column("document_id", sa.String), sa.column("at", sa.DateTime(timezone=True)),
                   sa.column("action", sa.String), sa.column("stage", sa.String), sa.column("actor", sa.String),
                   sa.column("channel", sa.String), sa.column("ip", sa.String), sa.column("user_agent", sa.Text),
                   sa.column("detail", sa.Text))
_WAITING = ("sent", "viewed")
_TARGET = {"signed": "client_signed", "declined": "declined"}


def upgrade() -> None:
    conn = op.get_bind()
    gaps = conn.execute(
        sa.select(_requests.c.document_id, _requests.c.status, _requests.c.channel, _requests.c.sign_ip,
                  _requests.c.sign_user_agent)
        .select_from(_requests.join(_documents, _documents.c.id == _requests.c.document_id))
        .where(_requests.c.status.in_(list(_TARGET)), _documents.c.stage.in_(_WAITING))
        .order_by(_requests.c.document_id)).all()
    now = datetime.now(UTC)
    for row in gaps:
        target = _TARGET[row.status]
        moved = conn.execute(_documents.update()
                             .where(_documents.c.id == row.document_id, _documents.c.stage.in_(_WAITING))
                             .values(stage=target, updated_at=now)).rowcount
        if moved == 1:
            conn.execute(_events.insert().values(
                document_id=row.document_id, at=now, action=target, stage=target, actor="client",
                channel=(row.channel or "")[:20], ip=(row.sign_ip or "")[:64], user_agent=row.sign_user_agent or "",
                detail="reconciliado"))


def downgrade() -> None:
    """Nothing to undo: the moves are the documents' history, and revision 0004 reads them as they are."""
