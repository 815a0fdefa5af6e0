#!/usr/bin/env bash
# Runs once, when the PostgreSQL volume is first initialised: one role + database for Airflow's metadata
# (and the Celery result backend), one for the esign ledger. Passwords come from the environment.
set -euo pipefail
: "${AIRFLOW_DB_PASSWORD:?set AIRFLOW_DB_PASSWORD}" "${ESIGN_DB_PASSWORD:?set ESIGN_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v airflow_pw="$AIRFLOW_DB_PASSWORD" -v esign_pw="$ESIGN_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_pw';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE esign LOGIN PASSWORD :'esign_pw';
CREATE DATABASE esign OWNER esign;
SQL
