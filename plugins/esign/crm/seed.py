"""Realistic Brazilian demo data for the embedded CRM, deterministic for a given seed.

Pipeline stages created for category N (``C<N>:`` prefix; bare codes for the default pipeline "0"):

======================  ===========================  ==========  ==============================================
code                    name                         semantics   role in the pipeline (:class:`CrmStageMap`)
======================  ===========================  ==========  ==============================================
``C1:NEW``              Novo                         —           not yet ready for a contract
``C1:UC_REVIEW``        Dados a corrigir             —           quarantined / failed: a person fixes the deal
``C1:PREPARATION``      Preparação de contrato       —           trigger: deals here get a contract
``C1:EXECUTING``        Aguardando assinatura        —           awaiting the client's signature
``C1:WON``              Contrato assinado            S           signed
``C1:LOSE``             Recusado                     F           declined by the client
``C1:UC_EXPIRED``       Assinatura expirada          F           the signing link expired
======================  ===========================  ==========  ==============================================

Every seeded deal starts in the trigger stage. Departments (Diretoria Comercial and its sales teams)
and managers are created once, when the CRM has no managers yet. About 4% of the deals (at least 3
when 10 or more are seeded) are broken on purpose, so the quarantine path always runs, cycling through:
a contact with no email and no phone, a bad phone (``"12345"``) and no email, an empty company name, a missing CNPJ.
Each broken deal has its own company and contact, so no valid deal shares the defect.

Every fifth deal (``signers_every``; 0: none) whose counterparty is a healthy company has several signers, bound as
deal contacts with a role as Bitrix24 models them: its contact (signatário, primary) and a partner sign for the
client, two witnesses (testemunhas, with CPFs) sign too, and the company's accountant gets a copy. These people are
drawn from a random generator of their own, after the rest, so the other deals are what they were without them.

Seeding a CRM that already has deals *adds* deals with new IDs: the random generator is seeded with
``rng_seed`` and the number of deals already present, so a second run makes different companies
(CNPJs, CPFs and emails are also kept unique against what is stored) and the whole result is still
deterministic for the same sequence of calls. Everything runs in one transaction with bulk inserts.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select

from esign.crm import _demo_names as names
from esign.crm.brdocs import format_cnpj, format_cpf, random_cnpj, random_cpf
from esign.crm.config import stage_code
from esign.crm.local_schema import (
    crm_companies,
    crm_contacts,
    crm_deal_contacts,
    crm_deal_items,
    crm_deals,
    crm_departments,
    crm_managers,
    crm_stages,
)

#: (code, name, sort, semantics) of the seeded pipeline; see the module docstring.
STAGES: tuple[tuple[str, str, int, str | None], ...] = (
    ("NEW", "Novo", 10, None),
    ("UC_REVIEW", "Dados a corrigir", 20, None),
    ("PREPARATION", "Preparação de contrato", 30, None),
    ("EXECUTING", "Aguardando assinatura", 40, None),
    ("WON", "Contrato assinado", 50, "S"),
    ("LOSE", "Recusado", 60, "F"),
    ("UC_EXPIRED", "Assinatura expirada", 70, "F"),
)
TRIGGER_CODE = "PREPARATION"

BROKEN_KINDS = ("no_email_no_phone", "bad_phone", "empty_company_name", "missing_cnpj")
BROKEN_SHARE = 0.04
BAD_PHONE = "12345"
PERSON_SHARE = 0.15  # deals with a person (contact only, CPF) as the counterparty
REUSE_COMPANY_SHARE = 0.35  # deals of a company that already has one
SIGNERS_EVERY = 5  # every fifth deal (of a healthy company) has several signers
#: The roles of a several-signer deal's contacts as typed in the CRM (both languages, as users type them), by SORT.
SIGNER_ROLES = (("signatário", True), ("signer", False), ("testemunha", False), ("witness", False), ("cópia", False))


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What one :func:`seed_demo` call added."""

    deals: int
    companies: int
    contacts: int
    managers: int  # created by this call (0 when the CRM already had managers)
    first_deal_id: int | None
    last_deal_id: int | None
    broken: dict[int, str] = field(default_factory=dict)  # deal ID -> one of BROKEN_KINDS
    several_signers: tuple[int, ...] = ()  # deals with two client signers, two witnesses and a copy

    @property
    def broken_deal_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.broken))


def broken_count(deals: int) -> int:
    """How many deals are broken on purpose: about 4%, at least 3 from 10 deals on, none below 10."""
    if deals < 10:
        return 0
    return max(3, round(deals * BROKEN_SHARE))


def seed_demo(
    engine: Engine,
    deals: int,
    *,
    rng_seed: int = 7,
    category_id: str = "1",
    broken: int | None = None,
    now: datetime | None = None,
    signers_every: int = SIGNERS_EVERY,
) -> SeedSummary:
    """Add ``deals`` demo deals in the trigger stage of pipeline ``category_id`` (stages created if missing).

    ``broken`` overrides how many are broken on purpose (default :func:`broken_count`); ``now`` fixes the
    clock the creation dates are spread back from (default: the current time); every ``signers_every``-th deal
    has several signers (0: none has).
    """
    if deals < 0:
        raise ValueError(f"deals must not be negative, got {deals}")
    n_broken = broken_count(deals) if broken is None else broken
    if not 0 <= n_broken <= deals:
        raise ValueError(f"broken must be between 0 and {deals}, got {n_broken}")
    if signers_every < 0:
        raise ValueError(f"signers_every must not be negative, got {signers_every}")
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        ensure_stages(conn, category_id)
        existing = int(conn.execute(select(func.count()).select_from(crm_deals)).scalar_one())
        gen = _Generator(random.Random(f"esign-demo:{rng_seed}:{existing}"), _used_values(conn))
        manager_ids, managers_created = _ensure_managers(conn, gen)
        plan = gen.plan(deals, n_broken, manager_ids, now)
        if signers_every:
            people = _Generator(random.Random(f"esign-demo-signers:{rng_seed}:{existing}"), gen.used)
            people.add_signers(plan, signers_every)
        return _insert(conn, plan, category_id, managers_created)


# -- stages and people --------------------------------------------------------------------------------
def ensure_stages(conn: Connection, category_id: str = "1") -> None:
    """Create the demo pipeline's stages (see the module docstring) that ``category_id`` lacks."""
    have = set(conn.execute(select(crm_stages.c.id).where(crm_stages.c.category_id == category_id)).scalars())
    rows = [{"id": stage_code(category_id, code), "name": name, "category_id": category_id, "sort": sort,
             "semantics": semantics}
            for code, name, sort, semantics in STAGES if stage_code(category_id, code) not in have]
    if rows:
        conn.execute(insert(crm_stages), rows)


def _ensure_managers(conn: Connection, gen: _Generator) -> tuple[list[int], int]:
    ids = [int(i) for i in conn.execute(select(crm_managers.c.id).order_by(crm_managers.c.id)).scalars()]
    if ids:
        return ids, 0
    root = conn.execute(insert(crm_departments).values(name=names.DEPARTMENT_ROOT)
                        .returning(crm_departments.c.id)).scalar_one()
    team_ids = _insert_ids(conn, crm_departments, [{"name": n, "parent_id": root} for n in names.DEPARTMENTS])
    rows = [gen.manager(root)] + [gen.manager(team) for team in team_ids for _ in range(2)]
    return _insert_ids(conn, crm_managers, rows), len(rows)


def _used_values(conn: Connection) -> set[str]:
    """Tax IDs and emails already stored: new ones must differ."""
    used: set[str] = set()
    used.update(v for v in conn.execute(select(crm_companies.c.tax_id)).scalars() if v)
    for cpf, email in conn.execute(select(crm_contacts.c.cpf, crm_contacts.c.email)):
        used.update(v for v in (cpf, email) if v)
    used.update(v for v in conn.execute(select(crm_managers.c.email)).scalars() if v)
    return used


# -- the plan: plain rows with list indexes instead of IDs ---------------------------------------------
@dataclass(slots=True)
class _Plan:
    companies: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)  # "company": index or None
    deals: list[dict[str, Any]] = field(default_factory=list)  # "company"/"contact": indexes; "items": rows
    broken: dict[int, str] = field(default_factory=dict)  # deal index -> kind
    #: deal index -> its bound contacts (contact index, sort, primary, role as typed)
    links: dict[int, list[tuple[int, int, bool, str]]] = field(default_factory=dict)


def slug(text: str) -> str:
    """ASCII lower-case letters and digits only: "Magalhães & Sá" -> "magalhaessa"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


class _Generator:
    """Draws every value from one ``random.Random`` in a fixed order, so a seed gives the same data."""

    def __init__(self, rng: random.Random, used: set[str]) -> None:
        self.rng = rng
        self.used = used

    def _unique(self, make: Any) -> str:
        while True:
            value = str(make())
            if value not in self.used:
                self.used.add(value)
                return value

    def person(self) -> tuple[str, str, str, bool]:
        """(full name, first name, last surname, feminine)."""
        rng = self.rng
        feminine = rng.random() < 0.5
        first = rng.choice(names.FIRST_NAMES_F if feminine else names.FIRST_NAMES_M)
        surnames = rng.sample(names.SURNAMES, rng.choice((1, 2, 2)))
        if len(surnames) == 2 and rng.random() < 0.3:  # "Ana da Silva Lima", "João de Souza Rocha"
            surnames[0] = f"{_particle(surnames[0])} {surnames[0]}"
        return f"{first} {' '.join(surnames)}", first, surnames[-1], feminine

    def email(self, first: str, last: str, domain: str) -> str:
        base = f"{slug(first)}.{slug(last)}"
        counter = iter(range(2, 10**6))
        candidate = f"{base}@{domain}"
        while candidate in self.used:
            candidate = f"{base}{next(counter)}@{domain}"
        self.used.add(candidate)
        return candidate

    def mobile(self, area: str) -> str:
        """+55, area code, 9 and eight digits: E.164 for a Brazilian mobile."""
        return f"+55{area}9{self.rng.randint(6, 9)}{self.rng.randrange(10**7):07d}"

    def manager(self, department_id: int) -> dict[str, Any]:
        full, first, last, _ = self.person()
        return {"name": full, "email": self.email(first, last, "vendas.example.com"),
                "department_id": department_id}

    def company(self) -> tuple[dict[str, Any], tuple[str, str, str, int, int]]:
        rng = self.rng
        pattern = rng.randrange(3)
        if pattern == 0:
            name = f"{rng.choice(names.SURNAMES)} {rng.choice(names.SECTORS)}"
        elif pattern == 1:
            name = f"{rng.choice(names.SECTOR_PREFIXES)} {rng.choice(names.FANCY)}"
        else:
            a, b = rng.sample(names.SURNAMES, 2)
            name = f"{a} & {b} {rng.choice(names.SECTORS)}"
        name = f"{name} {rng.choice(names.LEGAL_SUFFIXES)}"
        cnpj = self._unique(lambda: format_cnpj(random_cnpj(rng)))
        city = rng.choice(names.CITIES)
        return {"name": name, "tax_id": cnpj, "address": self.address(city)}, city

    def address(self, city: tuple[str, str, str, int, int]) -> str:
        rng = self.rng
        town, uf, _area, cep_lo, cep_hi = city
        street = f"{rng.choice(names.STREET_TYPES)} {rng.choice(names.STREET_NAMES)}, {rng.randint(10, 4999)}"
        complement = rng.choice(names.COMPLEMENTS)
        if complement:
            street = f"{street}, {complement}"
        cep = f"{rng.randint(cep_lo, cep_hi):05d}-{rng.randrange(1000):03d}"
        return f"{street} - {rng.choice(names.DISTRICTS)}, {town} - {uf}, {cep}"

    def contact(self, company: int | None, domain: str, area: str) -> dict[str, Any]:
        full, first, last, feminine = self.person()
        title = self.rng.choice(names.TITLES)[1 if feminine else 0] if company is not None else ""
        return {"name": full, "title": title, "cpf": self._unique(lambda: format_cpf(random_cpf(self.rng))),
                "email": self.email(first, last, domain), "phone": self.mobile(area), "company": company}

    def items(self) -> tuple[list[dict[str, Any]], Decimal]:
        rng = self.rng
        rows: list[dict[str, Any]] = []
        total = Decimal(0)
        for position, service in enumerate(rng.sample(names.SERVICES, rng.randint(1, 5))):
            description, unit, q_lo, q_hi, p_lo, p_hi = service
            quantity = Decimal(rng.randint(q_lo, q_hi))
            price = Decimal(rng.randrange(p_lo * 100, p_hi * 100)).scaleb(-2)
            total += quantity * price
            rows.append({"position": position, "description": f"{description} ({quantity} {unit})"
                         if unit != "projeto" else description,
                         "quantity": str(quantity), "unit_price": str(price)})
        return rows, total.quantize(Decimal("0.01"))

    def plan(self, deals: int, n_broken: int, manager_ids: Sequence[int], now: datetime) -> _Plan:
        rng = self.rng
        plan = _Plan()
        broken_at = {index: BROKEN_KINDS[i % len(BROKEN_KINDS)]
                     for i, index in enumerate(rng.sample(range(deals), n_broken))}
        reusable: list[tuple[int, list[int]]] = []  # (company index, its contact indexes)
        for index in range(deals):
            kind = broken_at.get(index)
            if kind is None and reusable and rng.random() < REUSE_COMPANY_SHARE:
                company, contacts = rng.choice(reusable)
                contact = rng.choice(contacts)
            elif kind is None and rng.random() < PERSON_SHARE:
                company = None
                contact = len(plan.contacts)
                person = self.contact(None, "email.example.com", rng.choice(names.CITIES)[2])
                if contact % 2 == 0:
                    person["email"] = None  # every other individual client is reached by SMS only
                plan.contacts.append(person)
            else:
                company = len(plan.companies)
                row, city = self.company()
                plan.companies.append(row)
                domain = f"{slug(row['name'].rsplit(' ', 1)[0])[:40]}.example.com"
                contacts = []
                for _ in range(1 if kind else rng.choice((1, 1, 2))):
                    contacts.append(len(plan.contacts))
                    plan.contacts.append(self.contact(company, domain, city[2]))
                contact = contacts[0]
                if kind is None:
                    reusable.append((company, contacts))
                else:
                    _break(kind, plan.companies[company], plan.contacts[contact])
                    plan.broken[index] = kind
            items, amount = self.items()
            party = plan.companies[company]["name"] if company is not None else ""
            party = party or plan.contacts[contact]["name"]
            created = now - timedelta(seconds=rng.randrange(60 * 86400))
            updated = min(now, created + timedelta(seconds=rng.randrange(3 * 86400)))
            plan.deals.append({
                "title": f"{items[0]['description'].split(' (')[0]} - {party}"[:300],
                "amount": str(amount), "currency": "BRL", "company": company, "contact": contact,
                "manager_id": rng.choice(manager_ids),
                "created_at": created.replace(microsecond=0), "updated_at": updated.replace(microsecond=0),
                "items": items,
            })
        return plan


    def add_signers(self, plan: _Plan, every: int) -> None:
        """Bind a partner, two witnesses and the accountant (a copy) to every ``every``-th deal of a healthy
        company, its own contact first (see the module docstring)."""
        for index, deal in enumerate(plan.deals):
            if (index + 1) % every or index in plan.broken or deal["company"] is None:
                continue
            company = plan.companies[deal["company"]]
            primary = plan.contacts[deal["contact"]]
            domain = primary["email"].rpartition("@")[2] if primary["email"] else "email.example.com"
            area = primary["phone"][3:5] if primary["phone"] else "11"
            partner = self.contact(deal["company"], domain, area)
            witnesses = [self.contact(None, "email.example.com", area) for _ in range(2)]
            accountant = self.contact(None, f"contabil{slug(company['name'])[:20]}.example.com", area)
            accountant["title"] = "Contador"
            bound = [deal["contact"]]
            for person in (partner, *witnesses, accountant):
                bound.append(len(plan.contacts))
                plan.contacts.append(person)
            plan.links[index] = [(contact, 10 * (n + 1), primary_flag, role)
                                 for n, (contact, (role, primary_flag)) in enumerate(zip(bound, SIGNER_ROLES,
                                                                                         strict=True))]


def _particle(surname: str) -> str:
    """The preposition Brazilian names put before a surname: "dos Santos", "da Silva", "de Souza"."""
    if surname in names.SURNAMES_WITH_DOS:
        return "dos"
    return "da" if surname in names.SURNAMES_WITH_DA else "de"


def _break(kind: str, company: dict[str, Any], contact: dict[str, Any]) -> None:
    if kind == "no_email_no_phone":
        contact["email"] = None
        contact["phone"] = None
    elif kind == "bad_phone":  # and no e-mail: with a good e-mail the client would be reached by e-mail
        contact["email"] = None
        contact["phone"] = BAD_PHONE
    elif kind == "empty_company_name":
        company["name"] = ""
    elif kind == "missing_cnpj":
        company["tax_id"] = None


# -- inserting -----------------------------------------------------------------------------------------
def _insert_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert; the new IDs in the order of ``rows`` (one statement per ~1000 rows)."""
    if not rows:
        return []
    result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in result.scalars()]


def _insert(conn: Connection, plan: _Plan, category_id: str, managers_created: int) -> SeedSummary:
    company_ids = _insert_ids(conn, crm_companies, plan.companies)
    contact_ids = _insert_ids(conn, crm_contacts, [
        {**{k: v for k, v in c.items() if k != "company"},
         "company_id": None if c["company"] is None else company_ids[c["company"]]}
        for c in plan.contacts
    ])
    stage = stage_code(category_id, TRIGGER_CODE)
    deal_ids = _insert_ids(conn, crm_deals, [
        {"title": d["title"], "amount": d["amount"], "currency": d["currency"], "category_id": category_id,
         "stage_id": stage, "company_id": None if d["company"] is None else company_ids[d["company"]],
         "contact_id": contact_ids[d["contact"]], "manager_id": d["manager_id"],
         "created_at": d["created_at"], "updated_at": d["updated_at"]}
        for d in plan.deals
    ])
    items = [{**item, "deal_id": deal_id} for deal_id, d in zip(deal_ids, plan.deals, strict=True)
             for item in d["items"]]
    if items:
        conn.execute(insert(crm_deal_items), items)
    links = [{"deal_id": deal_ids[i], "contact_id": contact_ids[c], "sort": sort, "is_primary": primary,
              "role": role} for i, rows in sorted(plan.links.items()) for c, sort, primary, role in rows]
    if links:
        conn.execute(insert(crm_deal_contacts), links)
    return SeedSummary(
        deals=len(deal_ids), companies=len(company_ids), contacts=len(contact_ids), managers=managers_created,
        first_deal_id=deal_ids[0] if deal_ids else None, last_deal_id=deal_ids[-1] if deal_ids else None,
        broken={deal_ids[i]: kind for i, kind in sorted(plan.broken.items())},
        several_signers=tuple(deal_ids[i] for i in sorted(plan.links)),
    )
