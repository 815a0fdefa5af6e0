-- Deals of one run that were quarantined or failed, with the reason (NULL: none recorded).
SELECT d.deal_id AS deal_id, d.id AS document_id, d.stage AS stage, d.reason AS reason
FROM documents d
JOIN pipeline_batches b ON b.id = d.batch_id
WHERE b.run_id = :run_id AND d.stage IN ('quarantined', 'failed')
ORDER BY d.deal_id
