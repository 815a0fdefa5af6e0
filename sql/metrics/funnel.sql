-- Documents created in the period and how many of them ever reached each stage (from the event log).
-- One row per stage reached plus a 'created' row with the whole cohort; the reporting code orders the
-- stages and computes conversion.
SELECT 'created' AS stage, COUNT(*) AS documents
FROM documents d
WHERE d.created_at >= :since AND d.created_at < :until
UNION ALL
SELECT e.stage AS stage, COUNT(DISTINCT e.document_id) AS documents
FROM events e
JOIN documents d ON d.id = e.document_id
WHERE e.stage IS NOT NULL
  AND d.created_at >= :since AND d.created_at < :until
GROUP BY e.stage
