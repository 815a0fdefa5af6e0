"""Signing codes: whether the relay accepted the code (sending | sent | failed).

A code is usable only once the relay accepted it, and its 5 minutes count from then. Codes issued before this
revision were recorded as sent when they were issued, so existing rows are ``sent``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=10), server_default="sent", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("signing_codes", schema=None) as batch_op:
        batch_op.drop_column("state")
