# One image for every esign container: the Airflow components (api-server, scheduler, dag-processor,
# triggerer, Celery worker) and the signing portal. Dependencies are installed exactly from uv.lock.
FROM python:3.11-slim-bookworm

COPY --from=ghcr.io/astral-sh/uv:0.8.22 /uv /usr/local/bin/uv

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/esign/.venv \
    PATH=/opt/esign/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ESIGN_PROJECT_DIR=/opt/esign \
    ESIGN_HOME=/var/lib/esign \
    ESIGN_REPORTS_DIR=/var/lib/esign-reports \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/esign/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/esign/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# poppler-utils (pdfsig) and qpdf: independent checks of signed PDFs by ops; chromium and a font: the PDF of the
# analysts' reports (esign_report prints each HTML report with headless Chromium)
RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils qpdf chromium fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 50000 --create-home --home-dir /home/esign esign \
 && mkdir -p /opt/esign /opt/airflow /var/lib/esign /var/lib/esign-reports \
 && chown esign /opt/airflow /var/lib/esign /var/lib/esign-reports

WORKDIR /opt/esign
# dependencies first (cached while only the code changes), then the project itself
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY plugins/ plugins/
COPY dags/ dags/
COPY templates/ templates/
COPY config/ config/
COPY sql/ sql/
COPY notebooks/ notebooks/
COPY deploy/healthcheck.py deploy/healthcheck.py
RUN uv sync --frozen --no-dev

USER esign
CMD ["esign", "--help"]
