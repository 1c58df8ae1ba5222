-- Whether every failure since the domain's last success found no server at all (DNS, connection refused, TLS):
-- such a domain is marked unavailable sooner. Rows from before count as having answered.
ALTER TABLE domains ADD COLUMN unreachable_only INTEGER NOT NULL DEFAULT 0;
