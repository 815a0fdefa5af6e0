-- Messages that did not go out (failed) or may not have (uncertain), created in the period (error NULL: none
-- recorded).
SELECT o.channel AS channel, o.kind AS kind, o.state AS state, o.last_error AS error, COUNT(*) AS messages
FROM outbox o
WHERE o.state IN ('failed', 'uncertain') AND o.created_at >= :since AND o.created_at < :until
GROUP BY o.channel, o.kind, o.state, o.last_error
