-- The batches of one Airflow run (esign_send's run_id) with their per-step counts (JSON).
SELECT b.id AS batch_id, b.template_id AS template_id, b.stage_id AS stage_id, b.first_id AS first_id,
       b.last_id AS last_id, b.planned AS planned, b.approved_by AS approved_by, b.approved_at AS approved_at,
       b.counts_json AS counts_json, b.created_at AS created_at, b.updated_at AS updated_at
FROM pipeline_batches b
WHERE b.run_id = :run_id
ORDER BY b.id
