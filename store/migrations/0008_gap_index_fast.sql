-- The gap index answers a search over a recent range without looking at the snapshots before
-- covered_to at all (#16, store/src/gaps.ts): each host's usual interval and its last snapshot
-- before covered_to, as of the last index run. insertSnapshots clears last_ts when it moves
-- covered_to back (the search then takes the slower path until the next run).
ALTER TABLE gap_watermarks
  ADD COLUMN interval_ms double precision,
  ADD COLUMN last_ts timestamptz;
