"""The CRM side: the client protocol, the embedded CRM, stage configuration and demo data."""

from esign.crm.base import CrmClient, FetchedDeal, StageInfo
from esign.crm.config import CrmConfigError, CrmStageMap, stage_code
from esign.crm.local import Comment, LocalCrm
from esign.crm.seed import SeedSummary, seed_demo

__all__ = [
    "Comment",
    "CrmClient",
    "CrmConfigError",
    "CrmStageMap",
    "FetchedDeal",
    "LocalCrm",
    "SeedSummary",
    "StageInfo",
    "seed_demo",
    "stage_code",
]
