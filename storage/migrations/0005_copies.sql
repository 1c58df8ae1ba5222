-- Self-hosted copies. On a copy, relayed_at marks a signature whose Add went into the queue to the origin, and
-- unrelayed_at its withdrawal's Remove, so a restart relays nothing twice and forgets nothing.
ALTER TABLE signatures ADD COLUMN relayed_at BIGINT;
ALTER TABLE signatures ADD COLUMN unrelayed_at BIGINT;
CREATE INDEX signatures_via_copy ON signatures (via_copy, status);
-- The copy wakes its sync when an activity from its origin arrives: found by actor without reading the table.
CREATE INDEX inbox_activities_actor ON inbox_activities (actor_iri, received_at);
