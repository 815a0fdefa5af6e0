"""What the rules use of a worker's services, as a protocol: the pipeline's ``Services`` is one, and the rules
need not know the pipeline that runs them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from esign.requests.messages import MessageServices

if TYPE_CHECKING:
    from esign.crm.base import CrmClient
    from esign.crm.config import CrmStageMap
    from esign.dispatch.outbox import Outbox


class RuleSettings(Protocol):
    """The run's settings the rules read: dry runs fire nothing; ``stages.trigger`` is where a contract starts."""

    @property
    def dry_run(self) -> bool: ...

    @property
    def stages(self) -> CrmStageMap: ...


class RuleServices(MessageServices, Protocol):
    """The CRM the rules move and comment on, the outbox their messages go to, and the run's settings; plus what
    building a reminder reads (:class:`~esign.requests.messages.MessageServices`)."""

    @property
    def config(self) -> RuleSettings: ...

    @property
    def crm(self) -> CrmClient: ...

    @property
    def outbox(self) -> Outbox: ...
