"""``esign demo``: the whole loop on the embedded defaults (local CRM, local SMTP, portal, Airflow in-process)."""
