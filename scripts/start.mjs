#!/usr/bin/env node
// `npm start`: installs and builds what is missing, then runs every PerfWatch service on this
// machine and prints where each listens. Ctrl-C stops them all.
import { join } from 'node:path';
import { ensureBuilt, log, ROOT, spawnService } from './lib.mjs';

try {
  ensureBuilt();
} catch (err) {
  process.stderr.write(`[perfwatch] ${err.message}\n`);
  process.exit(1);
}

const { checkoutDataDir, EMBEDDED_DEFAULTS, startEmbeddedPostgres } = await import('@perfwatch/store');
const { pathVar } = await import('@perfwatch/store/env');

const env = { ...process.env };
const exporterPort = env.PERFWATCH_EXPORTER_PORT || '9101';
const apiPort = env.PERFWATCH_API_PORT || '8000';
const uiPort = env.PERFWATCH_UI_PORT || '3000';
// The spool and the embedded PostgreSQL's data: <checkout>/.perfwatch, or as root
// /var/lib/perfwatch/<checkout name>-<hash> (store's checkoutDataDir says why).
try {
  env.PERFWATCH_DATA_DIR ||= checkoutDataDir(ROOT);
} catch (err) {
  process.stderr.write(`[perfwatch] ${err.message}\n`);
  process.exit(1);
}

// Without DATABASE_URL, history goes to an embedded PostgreSQL whose data lives under the data
// directory and which starts and stops with the product.
let embedded;
if (!env.DATABASE_URL) {
  // (obj, msg) as pino takes them; a server's own line (obj.postgres) is printed after msg
  const say = (level) => (a, b) => log(`postgres ${level}: ${typeof a === 'string' ? a : `${b ?? ''}${a?.postgres ? `: ${a.postgres}` : ''}`}`);
  const pgLog = { info: say('info'), warn: say('warn'), error: say('error'), debug() {}, child: () => pgLog };
  const dataDir = join(env.PERFWATCH_DATA_DIR, 'pg');
  try {
    embedded = await startEmbeddedPostgres(
      {
        dataDir,
        port: Number(env.PERFWATCH_EMBEDDED_PG_PORT || 5433),
        cacheDir: pathVar(env, 'PERFWATCH_EMBEDDED_PG_CACHE_DIR', EMBEDDED_DEFAULTS.cacheDir),
      },
      pgLog,
    );
  } catch (err) {
    process.stderr.write(`[perfwatch] embedded PostgreSQL did not start: ${err.message}\n`);
    process.exit(1);
  }
  // The URL holds the generated password: it goes to the children, never to the terminal.
  env.DATABASE_URL = embedded.url;
  embedded.shows = `postgres  embedded PostgreSQL ${embedded.version} on 127.0.0.1:${embedded.port}, data in ${dataDir}`;
}

/** Each service: how to run it and the URL that answers once it is up. */
const services = [
  {
    name: 'exporter',
    cmd: 'exporter/dist/main.js',
    args: [],
    ready: `http://127.0.0.1:${exporterPort}/health`,
    shows: [`metrics   http://localhost:${exporterPort}/metrics`],
  },
  {
    name: 'api',
    cmd: process.execPath,
    args: ['api/dist/main.js'],
    // 200 once migrations have run and the database answers
    ready: `http://127.0.0.1:${apiPort}/ready`,
    shows: [
      `JSON API  http://localhost:${apiPort}/api/v1 (OpenAPI: /api/openapi.json)`,
      ...(/^(off|none|false)$/i.test(uiPort.trim()) ? [] : [`admin UI  http://localhost:${uiPort}/`]),
    ],
  },
];

const children = [];
let stopping = false;

async function exit(code) {
  if (embedded) await embedded.stop().catch((err) => log(`stopping PostgreSQL failed: ${err.message}`));
  process.exit(code);
}

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    void exit(code);
  }, 10_000);
  deadline.unref();
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => exit(code));
}

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

async function waitReady(url, child, name) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} while starting (see its log above)`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not answer ${url} within 60 s`);
}

try {
  for (const s of services) {
    const child = spawnService(s.name, s.cmd, s.args, { env });
    children.push(child);
    child.on('exit', (code, signal) => {
      if (!stopping) {
        log(`${s.name} stopped (${signal ?? `exit ${code}`}); stopping the others`);
        stopAll(code || 1);
      }
    });
    await waitReady(s.ready, child, s.name);
  }
  embedded?.exited.then(() => {
    if (!stopping) {
      log('embedded PostgreSQL stopped unexpectedly; stopping the others');
      stopAll(1);
    }
  });
  log('PerfWatch is running:');
  for (const s of services) for (const line of s.shows) log(`  ${s.name.padEnd(9)} ${line}`);
  if (embedded) log(`  ${embedded.shows}`);
  log('Press Ctrl-C to stop.');
} catch (err) {
  process.stderr.write(`[perfwatch] ${err.message}\n`);
  stopAll(1);
}
