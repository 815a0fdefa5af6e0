"""Everything a worker and its tasks need, imported once: set ``[core] mp_forkserver_preload`` to this module.

With ``[core] mp_start_method = forkserver`` Airflow's LocalExecutor forks its workers (and they their task
processes) from a forkserver that the scheduler starts with it and that imported this module, so:

- a worker starts with Airflow's executor and task-supervisor code in memory (otherwise each worker imports about
  940 modules, 3-5 s on two cores, when it takes its first task);
- a task starts with the pipeline and the DAG files' imports (Airflow's, the SMTP provider's notifier) in memory
  instead of importing reportlab, pyHanko, SQLAlchemy, Alembic and the esign package again (about 2 s per task
  instance on two cores), and with the DagBag code a task imports to parse its DAG file (0.3 s per task instance);
- the task supervisor notices a finished task at once (``esign.hooks.supervisor_exit``).

See bench/airflow_overhead.py. Importing it has two effects beyond the imports: that wrap, and ``gc.freeze()``:
what the preload imported lives as long as the process, so the collector no longer walks it in every full
collection, and a forked worker or task no longer copies every page of it when the collector touches it
(measured: a task forked this way used ~10% more CPU without the freeze than a freshly started process).
"""

from __future__ import annotations

import gc

import airflow.dag_processing.dagbag
import airflow.executors.local_executor
import airflow.providers.standard.operators.hitl
import airflow.sdk
import airflow.sdk.execution_time.supervisor

import esign.access.approval
import esign.hooks.airflow_services
import esign.hooks.notifier
import esign.pipeline.collect
import esign.pipeline.send
import esign.store.migrations
import esign.verify
from esign.hooks.supervisor_exit import install

install()

MODULES = (airflow.dag_processing.dagbag, airflow.executors.local_executor,
           airflow.providers.standard.operators.hitl, airflow.sdk, airflow.sdk.execution_time.supervisor,
           esign.access.approval, esign.hooks.airflow_services, esign.hooks.notifier, esign.pipeline.collect,
           esign.pipeline.send, esign.store.migrations, esign.verify)

# Everything imported so far lives as long as the process: keep the collector from walking (and, in each forked
# worker and task, copying) it again and again.
gc.freeze()
