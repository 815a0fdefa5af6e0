-- Signing requests created in the period by channel (email, sms) and status (open, signed, declined, ...).
SELECT r.channel AS channel, r.status AS status, COUNT(*) AS requests
FROM signing_requests r
WHERE r.created_at >= :since AND r.created_at < :until
GROUP BY r.channel, r.status
