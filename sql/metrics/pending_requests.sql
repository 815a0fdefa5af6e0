-- Requests still open at the end of the period: their age (SLA buckets) is computed in pandas.
SELECT r.id AS request_id, r.document_id AS document_id, r.channel AS channel,
       r.created_at AS created_at, r.expires_at AS expires_at
FROM signing_requests r
WHERE r.status = 'open' AND r.created_at < :until
