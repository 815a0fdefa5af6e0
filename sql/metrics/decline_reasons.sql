-- Why clients declined, for requests declined in the period (the reason as the client typed it; NULL: none).
SELECT NULLIF(TRIM(r.decline_reason), '') AS reason, COUNT(*) AS documents
FROM signing_requests r
WHERE r.status = 'declined' AND r.closed_at >= :since AND r.closed_at < :until
GROUP BY NULLIF(TRIM(r.decline_reason), '')
