"""esign_report: publish the signing report daily at 06:00 UTC, and again whenever an esign_collect run completed
documents (its ``esign://documents/completed`` event; a run that completed nothing sends none).

Thin wiring only: the reports are notebooks executed by ``esign.reporting`` (papermill, then HTML with the
code hidden and a PDF beside it) into ``<ESIGN_HOME>/reports/<day>/`` (``ESIGN_REPORTS_DIR`` when set), in the
company's language and time zone. The latest send run gets its run report too.
``esign.reporting`` (pandas, papermill) is imported when a task runs, not each time Airflow parses this file.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from esign.hooks.assets import DOCUMENTS_COMPLETED
from esign.hooks.dag_defaults import START_DATE, default_args
from esign.hooks.steps import failing_fast

DEFAULT_ARGS = default_args(retries=2, retry_delay=timedelta(minutes=1))


@dag(
    dag_id="esign_report",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
                                 assets=[DOCUMENTS_COMPLETED]),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["esign", "report"],
    doc_md=__doc__,
)
def esign_report() -> None:
    @task
    def signing_report() -> str:
        from esign.composition import read_settings
        from esign.hooks.airflow_services import crm_from_context
        from esign.reporting import company_locale, default_period, generate_report, reports_dir

        with failing_fast():
            settings = read_settings()
            where = company_locale(settings)
        since, until = default_period(timezone=where.timezone)
        # the managers' names and departments are asked of the pipeline's CRM (its Connection, when set)
        return str(generate_report(settings.database_url, since, until, reports_dir(settings), where=where,
                                   crm=crm_from_context))

    @task
    def run_report() -> str | None:
        from esign.composition import read_settings
        from esign.reporting import company_locale, generate_run_report, latest_run_id, reports_dir

        with failing_fast():
            settings = read_settings()
        run_id = latest_run_id(settings.database_url)
        if run_id is None:
            return None
        return str(generate_run_report(settings.database_url, run_id, reports_dir(settings),
                                       where=company_locale(settings)))

    signing_report() >> run_report()


esign_report()
