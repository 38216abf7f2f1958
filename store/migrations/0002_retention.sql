-- Retention: how long each tier is kept, and a record of every cleanup run.
-- The cleanup job itself (pg-boss, dropping whole expired partitions) comes with the rollup tiers.

CREATE TABLE retention_policies (
  -- 'raw' = snapshots; '1m' and '1h' = the rollup tiers.
  tier        text PRIMARY KEY CHECK (tier IN ('raw', '1m', '1h')),
  days        integer NOT NULL CHECK (days BETWEEN 1 AND 36500),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO retention_policies (tier, days) VALUES
  ('raw', 30),
  ('1m', 90),
  ('1h', 730);

CREATE TABLE retention_runs (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tier                text NOT NULL,
  started_at          timestamptz NOT NULL DEFAULT now(),
  -- NULL while the run is in progress (or when it died without recording its end).
  finished_at         timestamptz,
  duration_seconds    double precision,
  -- Names of the partitions the run dropped.
  dropped_partitions  text[] NOT NULL DEFAULT '{}',
  -- The error message when the run failed.
  error               text
);

CREATE INDEX retention_runs_started_at ON retention_runs (started_at DESC);
