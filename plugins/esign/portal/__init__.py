"""The clients' signing portal: a small server-rendered FastAPI app (no Airflow here)."""
