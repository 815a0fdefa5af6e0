"""Celery workers' configuration: Airflow's default, plus the supervisor's prompt exit detection.

Set ``[celery] celery_config_options = esign.hooks.celery_config.CELERY_CONFIG``: a Celery worker imports it when
it starts, before it forks the processes that supervise tasks, so they all notice a finished task at once
(``esign.hooks.supervisor_exit``) while heartbeating at Airflow's default interval.
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

from esign.hooks.supervisor_exit import install

install()

#: Airflow's own default configuration, unchanged.
CELERY_CONFIG = DEFAULT_CELERY_CONFIG
