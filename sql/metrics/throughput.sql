-- One row per lifecycle event in the period that counts for throughput; bucketed by day in pandas
-- (day truncation is not portable between SQLite and PostgreSQL).
SELECT e.at AS at,
       CASE WHEN e.action IN ('created', 'quarantined') THEN 'created'
            WHEN e.stage = 'client_signed' THEN 'signed'
            ELSE e.stage END AS kind
FROM events e
WHERE (e.action IN ('created', 'quarantined') OR e.stage IN ('sent', 'client_signed', 'declined', 'expired'))
  AND e.at >= :since AND e.at < :until
