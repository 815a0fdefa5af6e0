"""Several signers per document: the document's signers (client signers, witnesses, copies, a second company
signer) as created, and on each signing request the signer it is for.

Documents created before this revision store no signers (``[]``): their counterparty's contact is their one
signer, position 1, which is what ``signer`` defaults to on their requests.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signers_json", sa.Text(), server_default="[]", nullable=False))
    with op.batch_alter_table("signing_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signer", sa.Integer(), server_default="1", nullable=False))
    op.create_index("ix_signing_requests_document_signer", "signing_requests", ["document_id", "signer"])


def downgrade() -> None:
    op.drop_index("ix_signing_requests_document_signer", table_name="signing_requests")
    with op.batch_alter_table("signing_requests", schema=None) as batch_op:
        batch_op.drop_column("signer")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("signers_json")
