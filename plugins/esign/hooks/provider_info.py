"""The package as an Airflow provider: its connection type and notifier, found through the
``apache_airflow_provider`` entry point (pyproject), so the UI offers a ``Bitrix24`` connection with its fields.

Airflow 3.2+ reads connection form fields from here (``conn-fields``, ``ui-field-behaviour``) without importing
the hook; the hook itself is imported only when a Connection of its type is used or tested.
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "esign-pipeline"
HOOK_CLASS = "esign.hooks.bitrix24.Bitrix24Hook"

#: Extra fields of the connection form (Airflow's ``conn-fields``: a label and a JSON schema each).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "webhook_url": {"label": "Webhook URL (https://<portal>/rest/<user id>/<code>/)",
                    "schema": {"type": ["string", "null"], "format": "password"},
                    "description": "The whole inbound webhook URL; or give host, login and password instead."},
    "burst": {"label": "Burst (requests)", "schema": {"type": ["integer", "null"], "default": 50, "minimum": 1}},
    "rate": {"label": "Rate (requests per second)", "schema": {"type": ["number", "null"], "default": 2.0}},
    "max_attempts": {"label": "Attempts per call", "schema": {"type": ["integer", "null"], "default": 5}},
    "timeout": {"label": "Timeout (seconds)", "schema": {"type": ["number", "null"], "default": 60.0}},
    "company_tax_field": {"label": "Company CNPJ field", "schema": {"type": ["string", "null"],
                                                                   "default": "UF_CRM_CNPJ"}},
    "contact_tax_field": {"label": "Contact CPF field", "schema": {"type": ["string", "null"],
                                                                  "default": "UF_CRM_CPF"}},
}

#: How the standard fields show (Airflow's ``ui-field-behaviour``).
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["port", "extra"],
    "relabeling": {"host": "Portal", "login": "Webhook user ID", "password": "Webhook code",
                   "schema": "Scheme (https unless a test portal)"},
    "placeholders": {"host": "acme.bitrix24.com.br", "login": "1", "schema": "https"},
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": PACKAGE_NAME,
        "name": "esign-pipeline",
        "description": "Batch e-signature for CRM deals: the Bitrix24 connection type and the failure notifier.",
        "connection-types": [{
            "hook-class-name": HOOK_CLASS,
            "hook-name": "Bitrix24",
            "connection-type": "bitrix24",
            "conn-fields": CONN_FIELDS,
            "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
        }],
        "notifications": ["esign.hooks.notifier.FailureNotifier"],
    }
