"""A toy CRM, written the way a deployment adds one: a module whose client implements ``CrmClient`` and a factory
that the registry calls (``register_crm("mirror", "tests.pipeline.mirror_crm:connect")``).

It reads and writes the embedded CRM's tables under its own name, which is enough to show a run going through a CRM
the pipeline never heard of.
"""

from __future__ import annotations

from esign.crm.local import LocalCrm
from esign.crm.registry import CrmContext


class MirrorCrm(LocalCrm):
    name = "mirror"


def connect(context: CrmContext) -> MirrorCrm:
    assert context.engine is not None
    return MirrorCrm(context.engine)
