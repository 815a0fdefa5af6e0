-- Documents quarantined (bad CRM data) or failed in the period, with their reason (NULL: none recorded).
SELECT d.stage AS stage, d.reason AS reason, COUNT(*) AS documents
FROM documents d
WHERE d.stage IN ('quarantined', 'failed') AND d.updated_at >= :since AND d.updated_at < :until
GROUP BY d.stage, d.reason
