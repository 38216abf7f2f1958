#!/usr/bin/env node
// `npm run bench`: builds what is missing, then runs every benchmark and prints its figures
// (and, where a peer is named, the ratio against it measured in the same run: node_exporter for
// the exporter, Prometheus for PromQL).
// `npm run bench -- exporter` runs only the named ones.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, ensureDebianPackages, log, ROOT } from './lib.mjs';

const BENCHES = [
  { name: 'exporter', file: 'bench/exporter.ts', what: 'default mode (background collection every 5 s, writer on, scraped every 1 s and 15 s): CPU per second, per collection, per cached scrape, p50/p99, RSS/VmHWM; then the every-scrape mode; each vs prometheus-node-exporter (BENCH_EXPORTER_MODE picks one)' },
  { name: 'fidelity', file: 'bench/fidelity.ts', what: 'every family shared with prometheus-node-exporter, scraped at the same moment: counters within 0.5%, sizes and states exact, family by family' },
  { name: 'containers', file: 'bench/containers.ts', what: 'CPU per collection of the cgroup and processes collectors over 200 containers and 1,000 processes (a fixture tree), the series they add; and on this machine' },
  { name: 'perf-read', file: 'native/bench/read-groups.ts', what: 'perf_event group read cost per CPU per collection' },
  { name: 'writer', file: 'bench/writer.ts', what: "ingest through the exporter's SnapshotWriter (spool, batches, 4 connections) vs insertSnapshots alone" },
  { name: 'storage', file: 'store/bench/storage.ts', what: 'bytes per snapshot, ingest, series query latency, retention (PostgreSQL)' },
  { name: 'api', file: 'api/bench/api.ts', what: 'POST /api/v1/query over HTTP: p50/p99 and requests/s, 1 host 24 h / 30 days, sum by mode over 100 hosts (8 concurrent clients too)' },
  { name: 'promql', file: 'api/bench/promql.ts', what: 'PromQL query_range over HTTP (/prometheus) vs Prometheus 2.42 on the same 30 days of 5 s data: p50/p95 and ratios for gauges, rates, sum by (mode), topk, a regex matcher, a subquery (default tiers, then raw forced)' },
  { name: 'live', file: 'api/bench/live.ts', what: 'live stream fan-out to 100 WebSocket clients: commit-to-receipt latency, messages/s, api CPU and RSS' },
  { name: 'admin-size', file: 'api/admin/bench-size.mjs', what: 'admin UI JS bundle, gzipped (budget 100 KB)' },
  { name: 'fleet', file: 'bench/fleet.ts', what: '1,000 hosts (HOSTS) writing every 5 s for 10 minutes (DURATION_S) through pgbouncer into one PostgreSQL: ingest lag, snapshots lost, connections and CPU; then the api at that many hosts (hosts list, $host, status, annotations, queries over every host)' },
  { name: 'gaps', file: 'bench/gaps.ts', what: 'the annotations gap search walking every snapshot vs the gap index, 1 to 1,000 hosts (HOSTS, HOURS)' },
  { name: 'soak', file: 'bench/soak.ts', what: 'exporter (writing history) and api under 10 scrapes/s + 2 queries/s for BENCH_SOAK_MINUTES (10): RSS of each, slope per minute after warm-up, errors' },
];

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
try {
  ensureBuilt();
  ensureDebianPackages([
    ['prometheus-node-exporter', 'prometheus-node-exporter'],
    ['prometheus', 'promtool'],
    ['pgbouncer', 'pgbouncer'],
  ]);
} catch (err) {
  process.stderr.write(`[perfwatch] ${err.message}\n`);
  process.exit(1);
}

let failed = 0;
for (const b of BENCHES) {
  if (only.length && !only.includes(b.name)) continue;
  log(`bench ${b.name}: ${b.what}`);
  const r = spawnSync(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', join(ROOT, b.file)], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    log(`bench ${b.name} failed (exit ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
