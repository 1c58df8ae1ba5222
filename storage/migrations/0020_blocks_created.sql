-- The inbox's apply reads the time of the latest block once per transaction (Tx.BlockMadeSince): indexed, that read
-- stays one lookup however long an imported blocklist is.
CREATE INDEX blocks_created ON blocks (created_at);
