-- Documents first sent in the period: reminders actually sent to them and when the client signed.
-- pandas tells "signed after a reminder" from "signed without one".
SELECT s.document_id AS document_id, s.sent_at AS sent_at,
       (SELECT COUNT(*) FROM outbox o
         WHERE o.document_id = s.document_id AND o.kind = 'reminder' AND o.state = 'sent') AS reminders,
       (SELECT MIN(o.sent_at) FROM outbox o
         WHERE o.document_id = s.document_id AND o.kind = 'reminder' AND o.state = 'sent') AS first_reminder_at,
       (SELECT MIN(e.at) FROM events e
         WHERE e.document_id = s.document_id AND e.stage = 'client_signed') AS signed_at
FROM (SELECT e.document_id AS document_id, MIN(e.at) AS sent_at
      FROM events e WHERE e.stage = 'sent' GROUP BY e.document_id) s
WHERE s.sent_at >= :since AND s.sent_at < :until
