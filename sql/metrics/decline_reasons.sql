-- Why clients declined, for requests declined in the period (the reason as the client typed it).
SELECT COALESCE(NULLIF(TRIM(r.decline_reason), ''), '(no reason given)') AS reason, COUNT(*) AS documents
FROM signing_requests r
WHERE r.status = 'declined' AND r.closed_at >= :since AND r.closed_at < :until
GROUP BY COALESCE(NULLIF(TRIM(r.decline_reason), ''), '(no reason given)')
