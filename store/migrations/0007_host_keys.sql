-- Every per-host table keyed by host_id (#16, docs/scaling.md "Past one database"): a distributed
-- PostgreSQL (Citus) shards them by host_id, and there a primary key or unique constraint must hold
-- the distribution column. snapshot_shapes and series had their identity alone as the key; it
-- stays unique by its sequence, now with a plain index for the lookups by id.
ALTER TABLE snapshot_shapes DROP CONSTRAINT snapshot_shapes_pkey;
ALTER TABLE snapshot_shapes ADD PRIMARY KEY (host_id, id);
CREATE INDEX snapshot_shapes_id ON snapshot_shapes (id);

ALTER TABLE series DROP CONSTRAINT series_pkey;
ALTER TABLE series ADD PRIMARY KEY (host_id, id);
CREATE INDEX series_id ON series (id);
