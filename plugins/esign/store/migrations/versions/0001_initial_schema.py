"""Initial schema: the ledger, the embedded CRM tables, the outbox, signing requests,
pipeline batches, access (roles, users, tokens) and rules.

The schema as it was when migrations were introduced; databases created by ``create_all`` before then are
stamped at head by ``esign db upgrade``.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 04:22:00.081774
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_roles',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('access_users',
    sa.Column('login', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('manager_id', sa.String(length=64), nullable=True),
    sa.Column('airflow_user', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('login'),
    sa.UniqueConstraint('airflow_user')
    )
    op.create_table('crm_companies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('tax_id', sa.String(length=40), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('crm_departments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['crm_departments.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('crm_stages',
    sa.Column('id', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category_id', sa.String(length=20), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('semantics', sa.String(length=1), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('documents',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('crm', sa.String(length=40), nullable=False),
    sa.Column('deal_id', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=100), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.String(length=100), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('counterparty_name', sa.String(length=300), nullable=False),
    sa.Column('counterparty_tax_id', sa.String(length=40), nullable=False),
    sa.Column('counterparty_email', sa.String(length=320), nullable=False),
    sa.Column('counterparty_phone', sa.String(length=40), nullable=False),
    sa.Column('manager_id', sa.String(length=64), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('slots_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('crm', 'deal_id', 'template_id', 'round', name='uq_documents_deal_template_round')
    )
    op.create_index('ix_documents_batch', 'documents', ['batch_id'], unique=False)
    op.create_index('ix_documents_stage', 'documents', ['stage'], unique=False)
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('document_id', sa.String(length=40), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('destination', sa.String(length=320), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_ref', sa.String(length=200), nullable=True),
    sa.Column('resend_of', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index('ix_outbox_document', 'outbox', ['document_id'], unique=False)
    op.create_index('ix_outbox_request', 'outbox', ['request_id'], unique=False)
    op.create_index('ix_outbox_state_id', 'outbox', ['state', 'id'], unique=False)
    op.create_table('pipeline_batches',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('run_id', sa.String(length=200), nullable=False),
    sa.Column('crm', sa.String(length=40), nullable=False),
    sa.Column('template_id', sa.String(length=100), nullable=False),
    sa.Column('stage_id', sa.String(length=100), nullable=False),
    sa.Column('first_id', sa.BigInteger(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('planned', sa.Integer(), nullable=False),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_pipeline_batches_run', 'pipeline_batches', ['run_id'], unique=False)
    op.create_table('pipeline_crm_sync',
    sa.Column('document_id', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('document_id', 'target', name='pk_pipeline_crm_sync')
    )
    op.create_table('rule_firings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('deal_id', sa.String(length=64), nullable=False),
    sa.Column('document_id', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index('ix_rule_firings_deal', 'rule_firings', ['deal_id'], unique=False)
    op.create_table('rule_stage_presence',
    sa.Column('stage_id', sa.String(length=100), nullable=False),
    sa.Column('deal_id', sa.String(length=64), nullable=False),
    sa.Column('entry', sa.Integer(), nullable=False),
    sa.Column('present', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('stage_id', 'deal_id', name='pk_rule_stage_presence')
    )
    op.create_table('access_role_rights',
    sa.Column('role', sa.String(length=80), nullable=False),
    sa.Column('right', sa.String(length=40), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['role'], ['access_roles.name'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role', 'right', name='pk_access_role_rights')
    )
    op.create_table('access_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('login', sa.String(length=80), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['login'], ['access_users.login'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    op.create_table('access_user_roles',
    sa.Column('login', sa.String(length=80), nullable=False),
    sa.Column('role', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['login'], ['access_users.login'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role'], ['access_roles.name'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('login', 'role', name='pk_access_user_roles')
    )
    op.create_table('crm_contacts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('cpf', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['crm_companies.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_crm_contacts_company', 'crm_contacts', ['company_id'], unique=False)
    op.create_table('crm_managers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['crm_departments.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('document_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('document_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_id', 'kind', name='uq_versions_document_kind')
    )
    op.create_index('ix_versions_sha256', 'document_versions', ['sha256'], unique=False)
    op.create_table('events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('document_id', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_events_document', 'events', ['document_id', 'id'], unique=False)
    op.create_table('signing_requests',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('document_id', sa.String(length=40), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('destination', sa.String(length=320), nullable=False),
    sa.Column('masked_destination', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signer_name', sa.String(length=200), nullable=True),
    sa.Column('typed_name', sa.String(length=200), nullable=True),
    sa.Column('drawn_png', sa.LargeBinary(), nullable=True),
    sa.Column('code_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sign_ip', sa.String(length=64), nullable=True),
    sa.Column('sign_user_agent', sa.Text(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_id', 'attempt', name='uq_signing_requests_document_attempt'),
    sa.UniqueConstraint('token_sha256')
    )
    op.create_index('ix_signing_requests_status_expires', 'signing_requests', ['status', 'expires_at'], unique=False)
    op.create_table('crm_deals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('amount', sa.String(length=40), nullable=True),
    sa.Column('currency', sa.String(length=10), nullable=True),
    sa.Column('category_id', sa.String(length=20), nullable=False),
    sa.Column('stage_id', sa.String(length=50), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['crm_companies.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contacts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['manager_id'], ['crm_managers.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_crm_deals_stage_id', 'crm_deals', ['stage_id', 'id'], unique=False)
    op.create_table('signing_codes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('code_hmac', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['signing_requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'sequence', name='uq_signing_codes_request_sequence')
    )
    op.create_table('crm_deal_items',
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('quantity', sa.String(length=40), nullable=True),
    sa.Column('unit_price', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['deal_id'], ['crm_deals.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('deal_id', 'position')
    )
    op.create_table('crm_timeline',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['crm_deals.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_crm_timeline_deal', 'crm_timeline', ['deal_id', 'id'], unique=False)
    op.create_table('crm_timeline_files',
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['crm_timeline.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('comment_id', 'position')
    )


def downgrade() -> None:
    op.drop_table('crm_timeline_files')
    op.drop_index('ix_crm_timeline_deal', table_name='crm_timeline')
    op.drop_table('crm_timeline')
    op.drop_table('crm_deal_items')
    op.drop_table('signing_codes')
    op.drop_index('ix_crm_deals_stage_id', table_name='crm_deals')
    op.drop_table('crm_deals')
    op.drop_index('ix_signing_requests_status_expires', table_name='signing_requests')
    op.drop_table('signing_requests')
    op.drop_index('ix_events_document', table_name='events')
    op.drop_table('events')
    op.drop_index('ix_versions_sha256', table_name='document_versions')
    op.drop_table('document_versions')
    op.drop_table('crm_managers')
    op.drop_index('ix_crm_contacts_company', table_name='crm_contacts')
    op.drop_table('crm_contacts')
    op.drop_table('access_user_roles')
    op.drop_table('access_tokens')
    op.drop_table('access_role_rights')
    op.drop_table('rule_stage_presence')
    op.drop_index('ix_rule_firings_deal', table_name='rule_firings')
    op.drop_table('rule_firings')
    op.drop_table('pipeline_crm_sync')
    op.drop_index('ix_pipeline_batches_run', table_name='pipeline_batches')
    op.drop_table('pipeline_batches')
    op.drop_index('ix_outbox_state_id', table_name='outbox')
    op.drop_index('ix_outbox_request', table_name='outbox')
    op.drop_index('ix_outbox_document', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_documents_stage', table_name='documents')
    op.drop_index('ix_documents_batch', table_name='documents')
    op.drop_table('documents')
    op.drop_table('crm_stages')
    op.drop_table('crm_departments')
    op.drop_table('crm_companies')
    op.drop_table('access_users')
    op.drop_table('access_roles')
