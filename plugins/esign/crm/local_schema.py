"""Tables of the embedded CRM (prefix ``crm_``), on the ledger's shared metadata.

They mirror what Bitrix24 keeps for a deal: departments and managers (users), companies, contacts,
deals with line items ("product rows"), pipeline stages and the timeline. Values that Bitrix24's legacy
REST returns as strings (amounts, quantities, prices) are stored as strings too: Decimal stays exact on
every database, and the embedded CRM can hold the same bad values a real CRM can (``"abc"``), which
the pipeline must quarantine rather than crash on. Timeline files are stored as bytes: the embedded CRM
is for the demo and tests, and bytes keep it self-contained.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from esign.store.schema import metadata

crm_departments = Table(
    "crm_departments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", Integer, ForeignKey("crm_departments.id")),
)

crm_managers = Table(
    "crm_managers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254)),
    Column("department_id", Integer, ForeignKey("crm_departments.id")),
)

crm_companies = Table(
    "crm_companies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(300)),
    Column("tax_id", String(40)),  # CNPJ as typed in the CRM (punctuation allowed)
    Column("address", Text),
)

crm_contacts = Table(
    "crm_contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(300)),
    Column("title", String(200)),  # job title: the representative's title on the contract
    Column("cpf", String(40)),
    Column("email", String(254)),
    Column("phone", String(64)),  # raw, as typed: may be invalid on purpose
    Column("company_id", Integer, ForeignKey("crm_companies.id", ondelete="SET NULL")),
)
Index("ix_crm_contacts_company", crm_contacts.c.company_id)

crm_stages = Table(
    "crm_stages",
    metadata,
    Column("id", String(50), primary_key=True),  # "C1:NEW"; bare codes ("NEW") in the default pipeline "0"
    Column("name", String(200), nullable=False),
    Column("category_id", String(20), nullable=False),
    Column("sort", Integer, nullable=False, default=100),
    Column("semantics", String(1)),  # None | "S" | "F"
)

crm_deals = Table(
    "crm_deals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(300)),
    Column("amount", String(40)),  # decimal as text ("19999.99"), like Bitrix24's OPPORTUNITY
    Column("currency", String(10)),
    Column("category_id", String(20), nullable=False, default="0"),
    Column("stage_id", String(50), nullable=False),  # no FK: a CRM may hold stages it no longer lists
    Column("company_id", Integer, ForeignKey("crm_companies.id", ondelete="SET NULL")),
    Column("contact_id", Integer, ForeignKey("crm_contacts.id", ondelete="SET NULL")),
    Column("manager_id", Integer, ForeignKey("crm_managers.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_crm_deals_stage_id", crm_deals.c.stage_id, crm_deals.c.id)

crm_deal_items = Table(
    "crm_deal_items",
    metadata,
    Column("deal_id", Integer, ForeignKey("crm_deals.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("description", Text),
    Column("quantity", String(40)),
    Column("unit_price", String(40)),
)

#: The contacts of a deal besides its main one, as Bitrix24 binds them (``crm.deal.contact.items.get``: CONTACT_ID,
#: SORT, IS_PRIMARY) plus the role each plays in signing (signer, witness, copy; Bitrix24 keeps it in a contact
#: field). Stored as typed (a Portuguese word is fine; ``esign.crm.normalize.parse_role`` reads it); NULL: no role.
crm_deal_contacts = Table(
    "crm_deal_contacts",
    metadata,
    Column("deal_id", Integer, ForeignKey("crm_deals.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", Integer, ForeignKey("crm_contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("sort", Integer, nullable=False, default=10),
    Column("is_primary", Boolean, nullable=False, default=False),
    Column("role", String(40)),
)

crm_timeline = Table(
    "crm_timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deal_id", Integer, ForeignKey("crm_deals.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=False),
)
Index("ix_crm_timeline_deal", crm_timeline.c.deal_id, crm_timeline.c.id)

crm_timeline_files = Table(
    "crm_timeline_files",
    metadata,
    Column("comment_id", Integer, ForeignKey("crm_timeline.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
)
