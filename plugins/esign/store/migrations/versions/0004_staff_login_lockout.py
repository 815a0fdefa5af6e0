"""Staff login lockout: failed password checks per login typed, with the time the login is locked until.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_login_failures",
        sa.Column("login", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("login"),
    )
    with op.batch_alter_table("access_login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_access_login_failures_last", ["last_failure_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("access_login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_access_login_failures_last")
    op.drop_table("access_login_failures")
