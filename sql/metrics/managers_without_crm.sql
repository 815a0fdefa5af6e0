-- The same as managers.sql for a ledger without the embedded CRM's tables (Bitrix24 in production):
-- only the manager's ID is known.
SELECT d.manager_id AS manager_id, CAST(NULL AS VARCHAR(200)) AS manager,
       CAST(NULL AS VARCHAR(200)) AS department, d.stage AS stage, COUNT(*) AS documents
FROM documents d
WHERE d.created_at >= :since AND d.created_at < :until
GROUP BY d.manager_id, d.stage
