-- Documents created in the period by the deal's manager (the CRM's user ID, as the ledger keeps it) and current
-- stage. The names and departments are the CRM's: the report asks the configured CRM for them.
SELECT d.manager_id AS manager_id, d.stage AS stage, COUNT(*) AS documents
FROM documents d
WHERE d.created_at >= :since AND d.created_at < :until
GROUP BY d.manager_id, d.stage
