"""The production shape without Docker (``make test-prod``): Airflow's api-server, scheduler, dag-processor and a
Celery worker (CeleryExecutor, Redis broker, PostgreSQL metadata and result backend), the ledger on PostgreSQL,
a local SMTP server and the seeded embedded CRM. ``esign_send`` and ``esign_collect`` are triggered through the
REST API; clients sign and decline in between; the ledger must end with the expected stages.

Runs only with ESIGN_TEST_PROD=1 (it takes minutes). Every process is started in its own process group and
stopped at the end, also on failure; their logs are under the test's tmp dir and printed when it fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from esign.config import Settings
from esign.dispatch.mailserver import LocalMailServer
from esign.hooks.worker_settings import CELERY_SETTINGS
from esign.store import Ledger, make_engine
from tests.prod.postgres import throwaway_database
from tests.prod.stack import BIN, PROJECT_DIR, Api, Stack, airflow_env, free_port, wait_for
from tests.support import TEST_PASSPHRASE

pytestmark = [pytest.mark.postgres, pytest.mark.airflow,
              pytest.mark.skipif(os.environ.get("ESIGN_TEST_PROD") != "1", reason="run with `make test-prod`")]

DEALS = 10
LINK_SECRET = "prod-run-tests-link-secret-0123456789abcd"
REDIS_URL = os.environ.get("ESIGN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_up() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")


@pytest.fixture
def stack(tmp_path: Path, core_settings: Settings) -> Iterator[tuple[Stack, str, LocalMailServer]]:
    _redis_up()
    home = tmp_path / "esign"
    shutil.copytree(core_settings.keys_dir, home / "keys")
    logs = tmp_path / "logs"
    logs.mkdir()
    with throwaway_database("esign_prod_af") as airflow_url, throwaway_database("esign_prod_ledger") as ledger_url, \
            LocalMailServer(home / "mail") as mail:
        port = free_port()
        queue = f"esign-test-{secrets.token_hex(4)}"  # this run's tasks only, on a Redis others may share
        env = dict(os.environ)
        env.update(airflow_env(home=tmp_path / "airflow", port=port, metadata_url=airflow_url,
                               executor="CeleryExecutor", parallelism=4, smtp_port=mail.port))
        env.update(CELERY_SETTINGS)  # the deployment's Celery configuration (docker-compose.yml)
        env.update({
            "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{airflow_url}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "ESIGN_PROJECT_DIR": str(PROJECT_DIR),
            "ESIGN_HOME": str(home),
            "ESIGN_DATABASE_URL": ledger_url,
            "ESIGN_KEY_PASSPHRASE": TEST_PASSPHRASE.decode(),
            "ESIGN_LINK_SECRET": LINK_SECRET,
            "ESIGN_PUBLIC_URL": "http://127.0.0.1:9",
            "ESIGN_SMTP_HOST": "127.0.0.1",
            "ESIGN_SMTP_PORT": str(mail.port),
        })
        env.pop("ESIGN_KEY_PASSPHRASE_FILE", None)
        env.pop("ESIGN_LINK_SECRET_FILE", None)
        stack = Stack(env=env, logs=logs, api=f"http://127.0.0.1:{port}")
        try:
            stack.run("airflow-db-migrate", str(BIN / "airflow"), "db", "migrate")
            stack.run("airflow-crm-pool", str(BIN / "airflow"), "pools", "set", "esign_crm", "4",
                      "esign tasks that call the CRM")  # as docker-compose's airflow-init does
            stack.run("esign-db-upgrade", str(BIN / "esign"), "db", "upgrade")
            stack.run("esign-crm-seed", str(BIN / "esign"), "crm", "seed", "--deals", str(DEALS))
            stack.start_airflow(port)
            stack.start("celery-worker", str(BIN / "airflow"), "celery", "worker", "--queues", queue,
                        "--concurrency", "2")
            yield stack, ledger_url, mail
        except BaseException:
            print(stack.report())
            raise
        finally:
            stack.stop()


def test_send_and_collect_through_airflow_with_celery(stack: tuple[Stack, str, LocalMailServer]) -> None:
    from esign.dispatch.mailserver import read_messages
    from esign.dispatch.records import message_id_for
    from esign.model import Stage
    from esign.requests.service import SigningRequests
    from tests.support import CodeRecorder

    proc_stack, ledger_url, _mail = stack
    api = Api(proc_stack)
    wait_for(api.healthy, 180, "the api-server and a healthy scheduler", interval=2)
    api.login()
    for dag_id in ("esign_send", "esign_collect"):
        wait_for(lambda d=dag_id: api.dag_known(d), 180, f"the dag-processor to register {dag_id}", interval=2)
    api.unpause("esign_send")
    api.run_dag("esign_send", {"auto_approve": True}, timeout=420)

    engine = make_engine(ledger_url)
    try:
        ledger = Ledger(engine)
        counts = ledger.stage_counts()
        sent = ledger.list_by_stage(Stage.SENT)
        assert counts.get("sent", 0) == len(sent) >= DEALS - 5 and set(counts) <= {"sent", "quarantined"}, counts
        invitations = read_messages(Path(proc_stack.env["ESIGN_HOME"]) / "mail")
        assert 0 < len(invitations) <= len(sent)  # email invitations (the rest went by SMS), none twice
        assert len({m.message["Message-ID"] for m in invitations}) == len(invitations)

        requests = SigningRequests(engine, ledger, LINK_SECRET.encode())
        # three one-signer documents signed and one declined; a document with several signers (the seed gives every
        # fifth healthy deal two client signers and two witnesses, invited in order) gets its first signature, and
        # the collect run through Airflow and Celery must invite its second signer
        alone = [r for r in sent if len([p for p in r.signers if p.signs]) == 1]
        several = next(r for r in sent if len([p for p in r.signers if p.signs]) > 1)
        signers, decliner = alone[:3], alone[3]
        for record in [*signers, decliner, several]:
            request = requests.for_document(record.id)
            assert request is not None and request.signer == 1
            recorder = CodeRecorder()
            requests.issue_code(request, recorder, "198.51.100.4", "pytest")
            requests.check_code(request, recorder.last_code, "198.51.100.4", "pytest")
            if record is decliner:
                requests.decline(request, "Preço errado", "198.51.100.4", "pytest")
            else:
                requests.sign(request, record.signer(1).name, None, True, "198.51.100.4", "pytest")

        api.unpause("esign_collect")
        api.run_dag("esign_collect", {}, timeout=420)
        stages = {r.id: ledger.get(r.id).stage for r in sent}
        assert [stages[r.id] for r in signers] == [Stage.COMPLETED] * 3, stages
        assert stages[decliner.id] is Stage.DECLINED
        assert all(stages[r.id] is Stage.SENT for r in sent if r not in (*signers, decliner))
        second = requests.current_for_documents([several.id])[several.id].get(2)
        assert second is not None and second.status.value == "open", second  # invited by the collect run
        entries = {str(m.message["Message-ID"]) for m in read_messages(Path(proc_stack.env["ESIGN_HOME"]) / "mail")}
        assert second.channel != "email" or message_id_for(f"invite:{second.id}") in entries
        for record in sent:
            assert ledger.derived_stage(record.id) is stages[record.id]
        for record in signers:
            assert ledger.version(record.id, "final") is not None
    finally:
        engine.dispose()
