-- Documents the client signed in the period: when the link went out and when the client signed.
-- Durations and percentiles are computed in pandas (no portable interval arithmetic in SQL).
SELECT d.id AS document_id, d.template_id AS template_id, d.manager_id AS manager_id,
       (SELECT r.channel FROM signing_requests r
         WHERE r.document_id = d.id AND r.status = 'signed') AS channel,
       MIN(CASE WHEN e.stage = 'sent' THEN e.at END) AS sent_at,
       MIN(CASE WHEN e.stage = 'client_signed' THEN e.at END) AS signed_at
FROM documents d
JOIN events e ON e.document_id = d.id
WHERE e.stage IN ('sent', 'client_signed')
GROUP BY d.id, d.template_id, d.manager_id
HAVING MIN(CASE WHEN e.stage = 'client_signed' THEN e.at END) >= :since
   AND MIN(CASE WHEN e.stage = 'client_signed' THEN e.at END) < :until
   AND MIN(CASE WHEN e.stage = 'sent' THEN e.at END) IS NOT NULL
