#!/usr/bin/env node
// The real PerfWatch api for the Grafana plugin's jest tests (datasource-plugin/test/globalSetup.js):
// a fresh schema on the test PostgreSQL (TEST_DATABASE_URL, else 127.0.0.1:5432, else an embedded
// one), migrated and seeded with synthetic snapshots of three hosts (store/test/synth.ts) and one
// retention run; the api on a free port; an API token. A second api shares the schema through a TCP
// relay that is cut once it has started: its database is unreachable (/ready answers 503).
//
// Prints one JSON line on stdout, then runs until stdin closes or SIGTERM / SIGINT, when it stops
// both apis, drops the schema, stops an embedded server and removes the seed file.
//
//   node --conditions=perfwatch-src --import tsx scripts/plugin-test-api.mjs
//
// Output: { url, token, downUrl, schema, seedFile, intervalMs, from, to, hosts, gap, retentionAt }
// seedFile holds every snapshot written, as { snapshots: Snapshot[] }, for the tests to compute
// expected values from.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { insertSnapshots, runRetention } from '@perfwatch/store';
// The tests' own helpers (tsx runs this script, so it can import TypeScript): the same choice of
// PostgreSQL server and the same schema handling, the api tests' administrator, login and
// request helper; runCleanups() below does what mocha's root hook does after a test run (drops
// the schema, stops an embedded server).
import { runCleanups, testSchema } from '../store/test/helpers.ts';
import { fixtureSnapshot, simulate } from '../store/test/synth.ts';
import { ADMIN, call, login } from '../api/test/helpers.ts';
import { loadConfig } from '../api/src/config.ts';
import { startApi } from '../api/src/service.ts';

const INTERVAL_MS = 5_000;
const cleanups = [];

function fail(msg, err) {
  process.stderr.write(`plugin-test-api: ${msg}${err ? `: ${err.stack ?? err}` : ''}\n`);
}

/** A TCP relay to host:port that can be cut: every connection through it closed, new ones refused. */
async function relay(target) {
  const sockets = new Set();
  const srv = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: srv.address().port,
    cut: () =>
      new Promise((resolve) => {
        srv.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function apiEnv(databaseUrl, schema, extra = {}) {
  return {
    DATABASE_URL: databaseUrl,
    PERFWATCH_DB_SCHEMA: schema,
    PERFWATCH_API_PORT: '0',
    PERFWATCH_API_HOST: '127.0.0.1',
    PERFWATCH_UI_PORT: 'off',
    PERFWATCH_SCRYPT_N: '1024',
    PERFWATCH_API_JOBS: 'false',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    JWT_SECRET: randomBytes(32).toString('hex'),
    ...extra,
  };
}

// 'fatal': the tests provoke 503s and 401s on purpose; a failed start is reported by fail() below.
const log = pino({ level: process.env.PERFWATCH_LOG_LEVEL ?? 'fatal' }, pino.destination(2));

async function startOne(env) {
  const api = await startApi(loadConfig(env), log, { announce: () => undefined, processMetrics: false, shutdownGraceMs: 500, waitForDatabaseMs: 10_000 });
  cleanups.push(() => api.close());
  return api;
}

async function main() {
  // A fresh migrated schema on TEST_DATABASE_URL, the machine's PostgreSQL on 5432 or an embedded one.
  const { url, schema, pool } = await testSchema({ migrate: true, prefix: 'plugin' });

  // 30 minutes of alpha and beta (beta with a 5-minute outage), 10 minutes of gamma, ending a few
  // minutes ago; on whole minutes, so 5 s steps hold one snapshot each.
  const base = fixtureSnapshot('small');
  const from = Math.floor((Date.now() - 35 * 60_000) / 60_000) * 60_000;
  const n = 360;
  const alpha = simulate(base, 'alpha', from, n, { seed: 1, intervalMs: INTERVAL_MS });
  const betaAll = simulate(base, 'beta', from, n, { seed: 2, intervalMs: INTERVAL_MS });
  const gapFrom = 120;
  const gapTo = 180; // snapshots [120, 180) are missing: 60 intervals, 5 minutes
  const beta = betaAll.filter((_, i) => i < gapFrom || i >= gapTo);
  const gamma = simulate(base, 'gamma', from + 20 * 60_000, 120, { seed: 3, intervalMs: INTERVAL_MS });
  const snapshots = [...alpha, ...beta, ...gamma];
  for (let i = 0; i < snapshots.length; i += 200) await insertSnapshots(pool, snapshots.slice(i, i + 200));
  await runRetention(pool);
  const retentionAt = Date.now();

  const seedDir = mkdtempSync(join(tmpdir(), 'perfwatch-plugin-seed-'));
  const seedFile = join(seedDir, 'snapshots.json');
  writeFileSync(seedFile, JSON.stringify({ snapshots }));
  cleanups.push(() => rmSync(seedDir, { recursive: true, force: true }));

  const api = await startOne(apiEnv(url, schema));
  const session = await login(api.url, ADMIN.username, ADMIN.password);
  const made = await call(api.url, 'POST', '/api/v1/tokens', { token: session.token, body: { name: 'grafana plugin tests', role: 'viewer' } });
  if (made.status !== 201) throw new Error(`POST /api/v1/tokens: ${made.status} ${made.text}`);
  const { token } = made.body;

  // The api whose database goes away: started through a relay, which is then cut.
  const r = await relay(new URL(url));
  const viaRelay = new URL(url);
  viaRelay.hostname = '127.0.0.1';
  viaRelay.port = String(r.port);
  const down = await startOne(apiEnv(viaRelay.toString(), schema, { PERFWATCH_API_DB_MIGRATE: 'false', PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS: '1' }));
  await r.cut();

  const out = {
    url: api.url,
    token,
    downUrl: down.url,
    schema,
    seedFile,
    intervalMs: INTERVAL_MS,
    from,
    to: from + n * INTERVAL_MS,
    hosts: ['alpha', 'beta', 'gamma'],
    gap: { host: 'beta', from: betaAll[gapFrom - 1].ts, to: betaAll[gapTo].ts },
    retentionAt,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

let stopping;
function stop(code) {
  stopping ??= (async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        fail('cleanup failed', err);
      }
    }
    await runCleanups(); // the schema and an embedded server, after the apis using them
    process.exit(code);
  })();
  return stopping;
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

main().catch(async (err) => {
  fail('could not start', err);
  await stop(1);
});
