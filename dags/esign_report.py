"""esign_report: publish the signing report daily, and again whenever esign_collect completes documents.

Thin wiring only: the reports are notebooks executed by ``esign.reporting`` (papermill, then HTML with the
code hidden) into ``reports/<day>/`` of the working directory. The latest send run gets its run report too.
``esign.reporting`` (pandas, papermill) is imported when a task runs, not each time Airflow parses this file.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from esign.hooks.dag_defaults import START_DATE, default_args

DOCUMENTS_COMPLETED = Asset("esign://documents/completed")

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
        from esign.config import Settings
        from esign.reporting import default_period, generate_report, reports_dir

        settings = Settings.from_env()
        since, until = default_period()
        return str(generate_report(settings.database_url, since, until, reports_dir(settings)))

    @task
    def run_report() -> str | None:
        from esign.config import Settings
        from esign.reporting import generate_run_report, latest_run_id, reports_dir

        settings = Settings.from_env()
        run_id = latest_run_id(settings.database_url)
        if run_id is None:
            return None
        return str(generate_run_report(settings.database_url, run_id, reports_dir(settings)))

    signing_report() >> run_report()


esign_report()
