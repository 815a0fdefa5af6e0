"""A secrets backend that refuses access to every connection, as a locked-down vault would.

Named by ``[secrets] backend`` in a child process (tests/hooks/test_bitrix24_hook.py): the esign edge must let
the refusal through instead of taking it for "no such connection".
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
from airflow.secrets.base_secrets import BaseSecretsBackend


class DenyingBackend(BaseSecretsBackend):
    def get_conn_value(self, conn_id: str) -> str | None:
        raise AirflowSecretsBackendAccessDenied(f"access to {conn_id} denied by policy")

    def get_variable(self, key: str) -> str | None:
        return None
