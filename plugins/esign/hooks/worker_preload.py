"""Everything a pipeline task needs, imported once per worker: set ``[core] mp_forkserver_preload`` to this module.

With ``[core] mp_start_method = forkserver`` Airflow's LocalExecutor forks its workers (and they their task
processes) from a forkserver that imported this module, so a task starts with the pipeline already in memory
instead of importing reportlab, pyHanko, SQLAlchemy, Alembic and the esign package again (about 2 s per task
instance on two cores; see bench/airflow_overhead.py). Importing it has no side effect beyond the imports.
"""

from __future__ import annotations

import esign.access.approval
import esign.hooks.airflow_services
import esign.pipeline.collect
import esign.pipeline.send
import esign.store.migrations
import esign.verify

MODULES = (esign.access.approval, esign.hooks.airflow_services, esign.pipeline.collect, esign.pipeline.send,
           esign.store.migrations, esign.verify)
