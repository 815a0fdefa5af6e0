"""``Bitrix24Hook``: the ``bitrix24`` Airflow connection type, read into :class:`Bitrix24Settings`.

A Connection holds the portal's inbound webhook, either whole (extra ``webhook_url``, or the URL as the password)
or in parts: host = the portal, login = the webhook's user ID, password = its code (the schema ``http`` only for a
test portal). Extras ``burst``, ``rate``, ``max_attempts``, ``timeout``, ``company_tax_field`` and
``contact_tax_field`` set the client's limits and fields (an empty form field keeps the default). The form fields
the UI shows are declared in the package's provider information (``esign.hooks.provider_info``), as Airflow 3's
providers do.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from esign.crm.bitrix24.settings import Bitrix24Settings
from esign.hooks.provider_info import UI_FIELD_BEHAVIOUR


class Bitrix24Hook(BaseHook):
    """Bitrix24 settings from a ``bitrix24`` Connection (``bitrix24_default`` unless named)."""

    conn_name_attr = "bitrix24_conn_id"
    default_conn_name = "bitrix24_default"
    conn_type = "bitrix24"
    hook_name = "Bitrix24"

    def __init__(self, bitrix24_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bitrix24_conn_id = bitrix24_conn_id

    def get_conn(self) -> Bitrix24Settings:
        """The settings; a missing Connection raises ``AirflowNotFoundException``, a bad one ``ConfigError``."""
        conn = self.get_connection(self.bitrix24_conn_id)
        extra = {key: value for key, value in (conn.extra_dejson or {}).items() if value not in (None, "")}
        return Bitrix24Settings.from_connection(host=conn.host, login=conn.login, password=conn.password,
                                                schema=conn.schema, extra=extra)

    def settings_if_configured(self) -> Bitrix24Settings | None:
        """The settings, or None when there is no such Connection (then ``ESIGN_BITRIX24_*`` apply). Any other
        failure to read it (a secrets backend refusing access) propagates."""
        try:
            return self.get_conn()
        except AirflowNotFoundException:
            self.log.debug("no Airflow connection %r: Bitrix24 settings come from ESIGN_BITRIX24_* variables",
                           self.bitrix24_conn_id)
            return None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The standard fields' behaviour, in the shape Airflow before 3.2 asked hooks for."""
        return {"hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
                "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
                "placeholders": UI_FIELD_BEHAVIOUR["placeholders"]}
