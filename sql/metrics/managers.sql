-- requires: crm_managers crm_departments
-- fallback: managers_without_crm
-- Documents created in the period by manager, department (from the embedded CRM) and current stage.
SELECT d.manager_id AS manager_id, m.name AS manager, dep.name AS department,
       d.stage AS stage, COUNT(*) AS documents
FROM documents d
LEFT JOIN crm_managers m ON CAST(m.id AS VARCHAR(64)) = d.manager_id
LEFT JOIN crm_departments dep ON dep.id = m.department_id
WHERE d.created_at >= :since AND d.created_at < :until
GROUP BY d.manager_id, m.name, dep.name, d.stage
