-- The whole schema of the publication. Written once for both engines: {{ID}} is replaced
-- per dialect (see migrate.go). Times are Unix milliseconds (BIGINT) so that comparisons and ordering behave the
-- same in SQLite and PostgreSQL.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every published revision of the memo, kept whole.
CREATE TABLE revisions (
    number       INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    summary      TEXT NOT NULL,
    markdown     TEXT NOT NULL,
    html         TEXT NOT NULL,
    changelog    TEXT NOT NULL DEFAULT '',
    published_at BIGINT NOT NULL
);

-- The lessons and measures, each its own Note.
CREATE TABLE impulses (
    slug         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    position     INTEGER NOT NULL,
    markdown     TEXT NOT NULL,
    html         TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    retracted_at BIGINT
);

-- Notes the memo actor writes: "how to sign", revision announcements, acknowledgements of signatures.
CREATE TABLE notes (
    id           {{ID}},
    slug         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    content      TEXT NOT NULL,
    in_reply_to  TEXT NOT NULL DEFAULT '',
    to_json      TEXT NOT NULL DEFAULT '[]',
    cc_json      TEXT NOT NULL DEFAULT '[]',
    tags_json    TEXT NOT NULL DEFAULT '[]',
    public       BOOLEAN NOT NULL,
    published_at BIGINT NOT NULL,
    deleted_at   BIGINT
);

-- Outgoing activities, stored before any delivery (transactional outbox). in_outbox marks the public ones the
-- outbox collection lists.
CREATE TABLE activities (
    id           {{ID}},
    iri          TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    object_iri   TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL,
    in_outbox    BOOLEAN NOT NULL,
    published_at BIGINT NOT NULL
);
CREATE INDEX activities_outbox ON activities (in_outbox, id);

-- Remote actors we have fetched: the cache of profiles and keys.
CREATE TABLE actors (
    iri            TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    username       TEXT NOT NULL DEFAULT '',
    domain         TEXT NOT NULL,
    display_name   TEXT NOT NULL DEFAULT '',
    url            TEXT NOT NULL DEFAULT '',
    inbox          TEXT NOT NULL DEFAULT '',
    shared_inbox   TEXT NOT NULL DEFAULT '',
    key_id         TEXT NOT NULL DEFAULT '',
    public_key_pem TEXT NOT NULL DEFAULT '',
    raw            TEXT NOT NULL DEFAULT '',
    fetched_at     BIGINT NOT NULL,
    deleted_at     BIGINT
);
CREATE INDEX actors_key_id ON actors (key_id);

CREATE TABLE followers (
    actor_iri    TEXT PRIMARY KEY,
    follow_iri   TEXT NOT NULL,
    inbox        TEXT NOT NULL,
    shared_inbox TEXT NOT NULL DEFAULT '',
    domain       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX followers_created ON followers (created_at, actor_iri);

-- Every activity received and accepted, keyed by its id: the idempotence record and the durable inbox queue.
CREATE TABLE inbox_activities (
    iri          TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    actor_iri    TEXT NOT NULL,
    object_iri   TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL,
    headers      TEXT NOT NULL DEFAULT '',
    key_id       TEXT NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL,
    processed_at BIGINT,
    result       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbox_activities_pending ON inbox_activities (processed_at, received_at);

-- Likes, boosts and replies (comments) of our objects.
CREATE TABLE interactions (
    activity_iri TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    actor_iri    TEXT NOT NULL,
    object_iri   TEXT NOT NULL,
    note_iri     TEXT NOT NULL DEFAULT '',
    content      TEXT NOT NULL DEFAULT '',
    visibility   TEXT NOT NULL DEFAULT 'public',
    created_at   BIGINT NOT NULL
);
CREATE INDEX interactions_object ON interactions (object_iri, kind, created_at);
CREATE INDEX interactions_note ON interactions (note_iri);

-- Signatures: one per actor. Keyset pagination runs on (status, visibility, id).
CREATE TABLE signatures (
    id             {{ID}},
    actor_iri      TEXT NOT NULL UNIQUE,
    actor_type     TEXT NOT NULL,
    handle         TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    domain         TEXT NOT NULL,
    profile_url    TEXT NOT NULL DEFAULT '',
    note_iri       TEXT NOT NULL UNIQUE,
    in_reply_to    TEXT NOT NULL,
    content        TEXT NOT NULL,
    revision       INTEGER NOT NULL,
    visibility     TEXT NOT NULL,
    status         TEXT NOT NULL,
    via_copy       TEXT NOT NULL DEFAULT '',
    evidence       TEXT NOT NULL DEFAULT '',
    signed_at      BIGINT NOT NULL,
    withdrawn_at   BIGINT
);
CREATE INDEX signatures_list ON signatures (status, visibility, id);
CREATE INDEX signatures_domain ON signatures (domain, status);

-- The delivery queue: one row per (activity, inbox). Workers claim due rows with a lease.
CREATE TABLE deliveries (
    id              {{ID}},
    activity_iri    TEXT NOT NULL,
    inbox           TEXT NOT NULL,
    domain          TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    leased_by       TEXT NOT NULL DEFAULT '',
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (activity_iri, inbox)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

-- Remote domains that keep failing: their deliveries are parked and tried rarely.
CREATE TABLE domains (
    domain            TEXT PRIMARY KEY,
    failures          INTEGER NOT NULL DEFAULT 0,
    first_failure_at  BIGINT,
    unavailable_since BIGINT,
    last_error        TEXT NOT NULL DEFAULT '',
    next_attempt_at   BIGINT
);

CREATE TABLE blocks (
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);

-- Inbox requests refused, with the reason, for moderators.
CREATE TABLE refused (
    id          {{ID}},
    received_at BIGINT NOT NULL,
    remote_addr TEXT NOT NULL DEFAULT '',
    actor_iri   TEXT NOT NULL DEFAULT '',
    activity    TEXT NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX refused_time ON refused (received_at);

-- Self-hosted copies known to an origin, and, on a copy, its origin.
CREATE TABLE copies (
    actor_iri   TEXT PRIMARY KEY,
    domain      TEXT NOT NULL,
    inbox       TEXT NOT NULL DEFAULT '',
    since       BIGINT NOT NULL,
    blocked     BOOLEAN NOT NULL DEFAULT FALSE
);
