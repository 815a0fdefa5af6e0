"""Documents: the counterparty's contact person, whom the client's messages greet (never the company's name), the
client's language when the deal gives one, and the responsible manager's e-mail (who gets the final signed copy).

Documents created before this revision have none of them: their messages greet without a name, in the company's
language, and their final copy goes to the client (and the company's copy address) only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counterparty_contact", sa.String(length=200), server_default="",
                                      nullable=False))
        batch_op.add_column(sa.Column("language", sa.String(length=20), server_default="", nullable=False))
        batch_op.add_column(sa.Column("manager_email", sa.String(length=320), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("manager_email")
        batch_op.drop_column("language")
        batch_op.drop_column("counterparty_contact")
