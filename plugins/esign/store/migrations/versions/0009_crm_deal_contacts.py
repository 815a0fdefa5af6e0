"""The embedded CRM's deal contacts: the people bound to a deal besides its main contact (as Bitrix24's
``crm.deal.contact.items.get`` lists them: contact, sort, primary) and the role each plays in signing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_deal_contacts",
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deal_id"], ["crm_deals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deal_id", "contact_id"),
    )


def downgrade() -> None:
    op.drop_table("crm_deal_contacts")
