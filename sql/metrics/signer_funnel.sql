-- The signers of the documents created in the period and how far each got: one row per signing request (every
-- signer, every attempt; `signer` is the signer's position) and one row with no request for a document that has
-- none yet. `signers_json` gives each position its role ('[]': one signer, role signer); the reporting code
-- counts per role and position who was invited, opened the link, confirmed the code, signed, declined, expired.
SELECT d.id AS document_id, d.signers_json AS signers_json, r.signer AS signer, r.attempt AS attempt,
       r.status AS status, r.viewed_at AS viewed_at, r.verified_at AS verified_at
FROM documents d
LEFT JOIN signing_requests r ON r.document_id = d.id
WHERE d.created_at >= :since AND d.created_at < :until
ORDER BY d.id, r.attempt
