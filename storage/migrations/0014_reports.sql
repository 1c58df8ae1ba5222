-- Reports (ActivityPub Flag activities) that other instances' moderators send about our actor or objects, for
-- the admin (`memo reports`). Bounded: the comment and the objects are clipped when stored, and each host keeps
-- only its latest reports (storage.MaxReportsPerHost).
CREATE TABLE reports (
    id           {{ID}},
    activity_iri TEXT NOT NULL UNIQUE,
    actor_iri    TEXT NOT NULL,
    domain       TEXT NOT NULL,
    objects      TEXT NOT NULL DEFAULT '[]',
    comment      TEXT NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL
);
CREATE INDEX reports_domain ON reports (domain, id);

-- Pruning processed inbox rows reads them by processing time.
CREATE INDEX inbox_activities_processed ON inbox_activities (processed_at) WHERE processed_at IS NOT NULL;
