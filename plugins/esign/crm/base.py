"""The CRM as the pipeline sees it: a small protocol that the embedded CRM and the Bitrix24 connector implement.

Why a protocol and not a base class: the pipeline only needs these calls, and a connector should be
testable on its own without inheriting behaviour. Deal IDs are integers because both Bitrix24 and the
embedded CRM number deals that way, and ID ranges are how batches are described (small, serialisable).
People and departments (rules, approvals, permissions, the register) are asked of the CRM too, so that
nothing outside the connectors knows where the CRM keeps them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from esign.errors import CrmError
from esign.model import Deal


@dataclass(frozen=True, slots=True)
class StageInfo:
    """One deal stage of one pipeline (Bitrix24 ``crm.status.list`` row for ``DEAL_STAGE_<N>``)."""

    id: str  # e.g. "C1:PREPARATION"; the default pipeline uses bare codes ("NEW")
    name: str
    category_id: str
    semantics: str | None = None  # None: in progress, "S": success, "F": failure


@dataclass(frozen=True, slots=True)
class FetchedDeal:
    """A normalised deal plus what could not be read from the CRM.

    Fetching never raises for bad field values, because one bad deal must be quarantined while the rest
    of the batch goes on. Unreadable values get a neutral stand-in in ``deal`` (``""``, ``Decimal(0)``) and a
    ``problems`` entry such as ``"amount: not a number ('abc')"``. Validation proper lives in
    :mod:`esign.validate`; ``problems`` only covers what normalising lost.
    """

    deal: Deal
    problems: tuple[str, ...] = ()

    @property
    def deal_id(self) -> int:
        return int(self.deal.id)


@dataclass(frozen=True, slots=True)
class Person:
    """A CRM user (a deal's responsible manager): Bitrix24 ``user.get``, the embedded CRM's managers."""

    id: str
    name: str
    email: str | None = None
    department_ids: tuple[int, ...] = ()  # the first one is the person's main department


@dataclass(frozen=True, slots=True)
class Department:
    """One node of the CRM's company structure (Bitrix24 ``department.get``)."""

    id: int
    name: str
    parent_id: int | None = None
    head_id: str | None = None  # the person heading it, when the CRM says


@runtime_checkable
class CrmClient(Protocol):
    """What the pipeline asks of a CRM. Every method is one short round trip (or a few pages)."""

    name: str  # "local", "bitrix24": recorded in the ledger with each document

    def list_stages(self) -> list[StageInfo]:
        """Every deal stage the CRM knows, in pipeline order."""
        ...

    def iter_deal_ids(self, stage_id: str, *, limit: int | None = None) -> Iterator[int]:
        """IDs of the deals in ``stage_id``, ascending, read in pages; at most ``limit`` of them."""
        ...

    def fetch_deals(self, stage_id: str, first_id: int, last_id: int) -> list[FetchedDeal]:
        """Deals in ``stage_id`` with ``first_id <= ID <= last_id``, ascending.

        Deals deleted or moved to another stage since they were listed are simply absent.
        """
        ...

    def get_deal_stage(self, deal_id: int) -> str | None:
        """The deal's current stage, or None when the deal no longer exists."""
        ...

    def move_deal(self, deal_id: int, stage_id: str) -> None:
        """Move a deal; an unknown stage or a missing deal raises :class:`esign.errors.CrmError`."""
        ...

    def add_comment(self, deal_id: int, text: str, files: Sequence[tuple[str, bytes]] = ()) -> str:
        """Add a timeline comment with attached files (name, content); returns the comment ID."""
        ...

    def people(self, ids: Iterable[str]) -> dict[str, Person]:
        """The people with these IDs that the CRM knows (the others are left out)."""
        ...

    def people_in(self, department_ids: Collection[int]) -> set[str]:
        """IDs of the people whose department is one of ``department_ids``."""
        ...

    def departments(self) -> list[Department]:
        """The whole company structure (small: read in one or a few pages)."""
        ...

    def move_deals(self, moves: Sequence[tuple[int, str]]) -> list[CrmError | None]:
        """Move many deals at once (Bitrix24: 50 per ``batch`` request); per move, None or the CRM's refusal
        (a missing deal: :class:`esign.errors.CrmNotFoundError`)."""
        ...

    def add_comments(self, comments: Sequence[tuple[int, str]]) -> list[CrmError | None]:
        """Many timeline comments without files (Bitrix24: 50 per ``batch``); per comment, None or the refusal."""
        ...

    def find_comments(self, wanted: Mapping[int, str]) -> set[int]:
        """The deals of ``wanted`` (deal ID -> marker) whose timeline holds a comment containing their marker:
        how a write-back left pending by a crash learns whether its comment was already posted."""
        ...
