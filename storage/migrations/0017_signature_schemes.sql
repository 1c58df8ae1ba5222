-- Hosts whose inboxes refused a draft-cavage signature and accepted an RFC 9421 one: deliveries to them are signed
-- under RFC 9421 first, until the row expires and the default is tried again.
CREATE TABLE signature_schemes (
    host TEXT PRIMARY KEY,
    scheme TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
