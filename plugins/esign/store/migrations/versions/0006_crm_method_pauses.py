"""CRM method pauses: methods the portal paused (Bitrix24's method time limit) and until when, for esign status.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_method_pauses",
        sa.Column("portal", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operating", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("portal", "method"),
    )


def downgrade() -> None:
    op.drop_table("crm_method_pauses")
