-- Messages that did not go out (failed) or may not have (uncertain), created in the period.
SELECT o.channel AS channel, o.kind AS kind, o.state AS state,
       COALESCE(o.last_error, '(no error recorded)') AS error, COUNT(*) AS messages
FROM outbox o
WHERE o.state IN ('failed', 'uncertain') AND o.created_at >= :since AND o.created_at < :until
GROUP BY o.channel, o.kind, o.state, COALESCE(o.last_error, '(no error recorded)')
