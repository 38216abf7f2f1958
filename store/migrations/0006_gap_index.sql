-- The gap index (#16): the annotations' gap search reads these rows instead of walking every
-- snapshot time of its range, so it costs in proportion to the gaps, not to the snapshots.
--
-- snapshot_gaps holds, per host, every pair of consecutive snapshots (gap_from, gap_to) further
-- apart than gap_watermarks.recorded_above_ms whose later snapshot is before covered_to. The
-- background job (store/src/gap-index.ts, after the rollups) extends covered_to up to a little
-- before now; a batch of older snapshots (a spool replay) moves covered_to back to its first
-- snapshot (insertSnapshots, as it does the rollup watermarks), so the next run redoes that
-- stretch. Past covered_to, and below recorded_above_ms, the search walks the snapshots as before.
CREATE TABLE snapshot_gaps (
  host_id   integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  gap_from  timestamptz NOT NULL,
  gap_to    timestamptz NOT NULL,
  PRIMARY KEY (host_id, gap_from)
);

CREATE TABLE gap_watermarks (
  host_id            integer PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
  covered_to         timestamptz NOT NULL DEFAULT '-infinity',
  -- the largest recording threshold ever used for this host: a search with a smaller threshold
  -- cannot trust the rows (a shorter gap may not have been recorded) and walks instead.
  recorded_above_ms  double precision NOT NULL DEFAULT 0,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
