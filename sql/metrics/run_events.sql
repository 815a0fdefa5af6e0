-- Stage events of the documents created by one run's batches: the steps' counts and ends per batch.
SELECT d.batch_id AS batch_id, e.document_id AS document_id, e.action AS action, e.stage AS stage, e.at AS at
FROM events e
JOIN documents d ON d.id = e.document_id
JOIN pipeline_batches b ON b.id = d.batch_id
WHERE b.run_id = :run_id AND e.stage IS NOT NULL
