/**
 * The db, exporter and api services of docker-compose.yml started for real, without Docker: each
 * service's command (the Dockerfile's CMD of its build target, or PostgreSQL 15 for the postgres:15
 * image) with its environment (Dockerfile ENV, then .env.example as env_file, then the compose
 * `environment`, interpolated from .env.example) mapped onto this machine:
 * - a container path of a bind mount becomes its host path (/host/proc -> /proc), a named volume a
 *   temporary directory, the image's WORKDIR /app this checkout;
 * - a service name becomes 127.0.0.1 and a container port a free port here (so the test never
 *   collides with a PerfWatch already running on 9101/8000/3000).
 * Then: the images' HEALTHCHECK commands pass, /metrics answers, the api is ready, a snapshot
 * arrives in the database, the README's token and backup steps work, every history panel's query
 * is answered by the api, the api's PromQL API answers every switchable PromQL panel as the
 * provisioned "PerfWatch (PromQL)" data source asks it, a Prometheus with prometheus/prometheus.yml
 * (Debian's server, 2.x; the compose file runs 3.x) evaluates every PromQL panel, and every metric
 * the dashboards query is in what these services serve.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { metricsOf, derivedMetric, metricInfo } from '@perfwatch/store/catalog';
import type { Snapshot } from '@perfwatch/store/snapshot';
import { loadDashboards, queriesOf } from './dashboards.js';
import {
  assembleStage,
  composeConfig,
  environmentOf,
  interpolateAll,
  parsePort,
  parseVolume,
  readDockerfile,
  readEnvFile,
  ROOT,
  type Json,
  type Obj,
  type Stage,
} from './helpers.js';
import { freePort, tempDir } from '../../store/test/helpers.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * Panels that must show data on this machine, by title; the rest are empty for a reason this host
 * has (no PMU, no swap or pressure, no failures or errors to show). Of the history variant:
 */
const HISTORY_MUST_SHOW = ['CPU by mode', 'CPU utilisation per CPU', 'Memory', 'Load average', 'Network traffic', 'Disk throughput',
  'Filesystem space available', 'Collector duration', 'Collector failures', 'Context switches', 'Task clock', 'Scaling ratio', 'Unavailable events'];
/** Of the Prometheus variant on Prometheus (its process metric panels included). */
const PROMETHEUS_MUST_SHOW = ['CPU by mode', 'CPU utilisation per CPU', 'Memory', 'Memory utilisation', 'Load average', 'Network traffic',
  'Filesystem space used', 'Collector duration', 'Write latency', 'Buffered snapshots', 'API request latency', 'API requests',
  'Database pool', 'Resident memory', 'CPU used', 'Context switches', 'Task clock', 'Scaling ratio'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How a container of the stack is reached from this machine. */
interface Mapping {
  /** container port -> port here, per service */
  ports: Map<string, Map<number, number>>;
  /** named volume -> directory here */
  volumes: Map<string, string>;
  /** service -> where its image's files are laid out here (assembleStage) */
  images: Map<string, string>;
}

/** A value of a service's environment as seen from this machine. */
function onThisMachine(value: string, name: string, service: Obj, stage: Stage | undefined, m: Mapping): string {
  let v = value;
  // other services by name (postgres://...@db:5432/...)
  v = v.replace(/@([a-z][a-z0-9-]*):(\d+)\//g, (all, svc: string, port: string) => {
    const here = m.ports.get(svc)?.get(Number(port));
    return here ? `@127.0.0.1:${here}/` : all;
  });
  for (const vol of ((service.volumes as Json[] | undefined) ?? []).map(parseVolume)) {
    const source = vol.type === 'bind' ? vol.source : m.volumes.get(vol.source);
    if (!source) continue;
    if (v === vol.target) return source;
    if (v.startsWith(`${vol.target}/`)) return join(source, v.slice(vol.target.length));
  }
  if (stage && v.startsWith('/')) {
    // a path inside the image: its laid-out copy here
    const image = m.images.get(name)!;
    if (existsSync(join(image, v))) return join(image, v);
  }
  return v;
}

interface Running {
  name: string;
  child: ChildProcess;
  output: string[];
}

function start(name: string, cmd: string[], cwd: string, env: Record<string, string>): Running {
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (d: Buffer) => {
    output.push(d.toString());
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { name, child, output };
}

async function stop(r: Running | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
  const exited = new Promise((res) => r.child.once('exit', res));
  r.child.kill('SIGTERM');
  const t = setTimeout(() => r.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** Runs a PostgreSQL server program; as the postgres user when this is root (initdb and postgres refuse root), as the image does. */
function asPostgres(cmd: string, args: string[], cwd: string) {
  const root = process.getuid?.() === 0;
  return spawnSync(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, { encoding: 'utf8', cwd });
}

/** Runs a HEALTHCHECK / compose healthcheck command; its exit status. */
function check(cmd: string[], env: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { env, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms: number, proc?: Running): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}) before ${what}:\n${proc.output.join('').slice(-3000)}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${proc ? `; ${proc.name} said:\n${proc.output.join('').slice(-3000)}` : ''}`);
    await sleep(250);
  }
}

function parseVolumes(service: Obj) {
  return ((service.volumes as Json[] | undefined) ?? []).map(parseVolume);
}

/** Sample names of a Prometheus text exposition (histograms give their _bucket/_sum/_count). */
function sampleNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

describe('docker-compose.yml run for real: db, exporter and api', function () {
  this.timeout(60_000);

  const envFile = readEnvFile('.env.example').values;
  const config = interpolateAll(composeConfig(['docker-compose.yml']), envFile) as Obj;
  const services = config.services as Record<string, Obj>;
  const dockerfile = (name: string) => {
    const b = services[name]!.build as Obj;
    return readDockerfile(join(String(b.context), String(b.dockerfile))).get(String(b.target))!;
  };

  let tmp = '';
  const mapping: Mapping = { ports: new Map(), volumes: new Map(), images: new Map() };
  const running: Running[] = [];
  let pgData = '';
  let dbEnv: Record<string, string> = {};
  let dbHealthBefore: { status: number | null; out: string } | undefined;
  const envOf: Record<string, Record<string, string>> = {};
  const healthOf: Record<string, string[]> = {};
  let exporterMetrics = '';
  let apiMetrics = '';
  /** The viewer token the README's steps create for Grafana (PERFWATCH_GRAFANA_TOKEN). */
  let grafanaToken = '';

  /** The environment a PerfWatch service's container gets, mapped onto this machine. */
  function serviceEnv(name: string): Record<string, string> {
    const svc = services[name]!;
    const stage = dockerfile(name);
    const e: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp };
    Object.assign(e, stage.env);
    // env_file: .env (here .env.example, as a user who copied it)
    for (const f of (svc.env_file as Obj[] | undefined) ?? []) if (String(f.path) === '.env') Object.assign(e, envFile);
    Object.assign(e, environmentOf(svc));
    for (const [k, v] of Object.entries(e)) e[k] = onThisMachine(v, name, svc, stage, mapping);
    return e;
  }

  /** The image's HEALTHCHECK command, mapped: /app -> checkout, container port -> port here. */
  function healthcheck(name: string): string[] {
    const stage = dockerfile(name);
    const ports = mapping.ports.get(name)!;
    return stage.healthcheck!.map((a) => {
      let v = onThisMachine(a, name, services[name]!, stage, mapping);
      v = v.replace(/127\.0\.0\.1:(\d+)/, (all, p: string) => (ports.get(Number(p)) ? `127.0.0.1:${ports.get(Number(p))}` : all));
      return v === 'node' ? process.execPath : v;
    });
  }

  before(async function () {
    this.timeout(180_000);
    for (const f of ['exporter/dist/main.js', 'api/dist/main.js']) {
      if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run npm run build (npm test builds first)`);
    }
    if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`PostgreSQL 15 server binaries are not in ${PG_BIN} (apt-get install postgresql-15)`);
    // mode 0755: initdb and postgres run as user postgres under it when the tests run as root
    tmp = tempDir('perfwatch-compose-').dir;
    for (const [name, svc] of Object.entries(services)) {
      const ports = new Map<number, number>();
      for (const p of (svc.ports as Json[] | undefined) ?? []) ports.set(parsePort(p).target, await freePort());
      mapping.ports.set(name, ports);
    }
    // the PerfWatch images' files, as their Dockerfile COPYs them
    for (const name of ['exporter', 'api']) {
      const dir = join(tmp, 'images', name);
      const b = services[name]!.build as Obj;
      const stages = readDockerfile(join(String(b.context), String(b.dockerfile)));
      assembleStage(stages.get(String(b.target))!, stages.get('build')!.workdir, dir);
      mapping.images.set(name, dir);
    }
    for (const v of Object.keys(config.volumes as Obj)) {
      const dir = join(tmp, 'volumes', v);
      mkdirSync(dir, { recursive: true });
      mapping.volumes.set(v, dir);
    }

    // ---- db: the postgres:15 image's entrypoint, with PostgreSQL 15 from Debian ------------------
    dbEnv = environmentOf(services.db!);
    const pgPort = mapping.ports.get('db')!.get(5432)!;
    pgData = join(mapping.volumes.get('pgdata')!, 'data');
    const pgProgram = (cmd: string, args: string[]) => {
      const r = asPostgres(cmd, args, tmp);
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
    };
    const pwfile = join(tmp, 'pwfile');
    writeFileSync(pwfile, `${dbEnv.POSTGRES_PASSWORD}\n`);
    if (process.getuid?.() === 0) {
      const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      for (const p of [mapping.volumes.get('pgdata')!, pwfile]) chownSync(p, Number(pw.stdout), Number(gid.stdout));
    }
    pgProgram(join(PG_BIN, 'initdb'), ['-D', pgData, '-U', dbEnv.POSTGRES_USER!, `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8']);
    const hcEnv = { ...process.env, PATH: `${PG_BIN}:${process.env.PATH}`, PGHOST: '127.0.0.1', PGPORT: String(pgPort), ...dbEnv };
    const hc = services.db!.healthcheck as { test: string[] };
    // CMD-SHELL: sh -c "<command>" inside the container
    const dbHealth = ['sh', '-c', hc.test[1]!];
    dbHealthBefore = check(dbHealth, hcEnv);
    pgProgram(join(PG_BIN, 'pg_ctl'), ['-D', pgData, '-l', join(pgData, 'server.log'), '-w', '-t', '60', '-o', `-p ${pgPort} -c listen_addresses=127.0.0.1 -k ${pgData}`, 'start']);
    const admin = new pg.Client({ host: '127.0.0.1', port: pgPort, user: dbEnv.POSTGRES_USER, password: dbEnv.POSTGRES_PASSWORD, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbEnv.POSTGRES_DB!.replace(/"/g, '""')}"`);
    await admin.end();
    const dbHealthy = check(dbHealth, hcEnv);
    expect(dbHealthy.status, `db healthcheck: ${dbHealthy.out}`).to.equal(0);

    // ---- exporter, then api (both depend_on db: service_healthy) ------------------------------------
    for (const name of ['exporter', 'api']) {
      const stage = dockerfile(name);
      const env = serviceEnv(name);
      // the container's ports, moved to free ones here
      const ports = mapping.ports.get(name)!;
      if (name === 'exporter') env.PERFWATCH_EXPORTER_PORT = String(ports.get(9101));
      if (name === 'api') {
        env.PERFWATCH_API_PORT = String(ports.get(8000));
        env.PERFWATCH_UI_PORT = String(ports.get(3000));
      }
      envOf[name] = env;
      const cmd = stage.cmd!.map((a) => onThisMachine(a, name, services[name]!, stage, mapping));
      running.push(start(name, cmd, join(mapping.images.get(name)!, stage.workdir), env));
      healthOf[name] = healthcheck(name);
      await until(`${name} healthy (${healthOf[name].join(' ')})`, () => (check(healthOf[name]!, process.env as Record<string, string>).status === 0 ? true : undefined), 90_000, running.at(-1));
    }
    exporterMetrics = await (await fetch(`http://127.0.0.1:${mapping.ports.get('exporter')!.get(9101)}/metrics`)).text();
    apiMetrics = await (await fetch(`http://127.0.0.1:${mapping.ports.get('api')!.get(8000)}/metrics`)).text();
  });

  after(async function () {
    this.timeout(60_000);
    for (const r of running.reverse()) await stop(r);
    if (pgData && existsSync(join(pgData, 'postmaster.pid'))) asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', pgData, '-m', 'fast', '-w', 'stop'], tmp);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the db healthcheck (pg_isready) fails before PostgreSQL runs and passes once it does', () => {
    expect(dbHealthBefore!.status, dbHealthBefore!.out).to.not.equal(0);
    expect(check(['sh', '-c', (services.db!.healthcheck as { test: string[] }).test[1]!], {
      ...(process.env as Record<string, string>), PATH: `${PG_BIN}:${process.env.PATH}`, PGHOST: '127.0.0.1', PGPORT: String(mapping.ports.get('db')!.get(5432)), ...dbEnv,
    }).status).to.equal(0);
  });

  it('the exporter runs with the host roots the compose file mounts, and its HEALTHCHECK passes', () => {
    // the Dockerfile's CMD, run from the files its COPY instructions put into the image
    expect(running.find((r) => r.name === 'exporter')!.child.spawnargs).to.deep.equal([join(mapping.images.get('exporter')!, 'app', 'exporter', 'dist', 'main.js')]);
    expect(envOf.exporter!.PERFWATCH_PROC_ROOT).to.equal('/proc');
    expect(envOf.exporter!.PERFWATCH_SYS_ROOT).to.equal('/sys');
    expect(envOf.exporter!.PERFWATCH_ROOTFS).to.equal('/');
    expect(envOf.exporter!.DATABASE_URL).to.match(/@127\.0\.0\.1:\d+\/perfwatch$/);
    expect(check(healthOf.exporter!, process.env as Record<string, string>).status).to.equal(0);
    expect(exporterMetrics).to.match(/^perfwatch_cpu_seconds_total\{cpu="0",mode="user"\} \d/m);
    expect(exporterMetrics).to.match(/^perfwatch_writer_written_total \d/m);
  });

  it('the api is ready behind its HEALTHCHECK, serves its metrics and the admin UI port', async () => {
    expect(healthOf.api!.at(-1)).to.match(/\/ready$/);
    expect(check(healthOf.api!, process.env as Record<string, string>).status).to.equal(0);
    expect(apiMetrics).to.contain('perfwatch_api_http_requests_total');
    const ui = await fetch(`http://127.0.0.1:${mapping.ports.get('api')!.get(3000)}/`);
    expect(ui.status).to.equal(200);
  });

  it('a HEALTHCHECK fails when its service does not answer', async () => {
    const closed = await freePort();
    const cmd = healthOf.exporter!.map((a) => a.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${closed}`));
    expect(check(cmd, process.env as Record<string, string>).status).to.equal(1);
  });

  it('a snapshot of the host named in the compose file arrives in the database', async () => {
    const client = new pg.Client({ connectionString: envOf.exporter!.DATABASE_URL });
    await client.connect();
    try {
      const row = await until('a snapshot in the database', async () => {
        const r = await client.query<{ n: number; data: Snapshot }>(
          `SELECT count(*) OVER ()::int AS n, s.data AS data FROM perfwatch.snapshots s JOIN perfwatch.hosts h ON h.id = s.host_id
            WHERE h.name = $1 ORDER BY s.ts DESC LIMIT 1`,
          [envOf.exporter!.PERFWATCH_HOSTNAME],
        );
        return r.rows[0];
      }, 30_000, running[0]);
      expect(envOf.exporter!.PERFWATCH_HOSTNAME).to.equal(environmentOf(services.exporter!).PERFWATCH_HOSTNAME);
      expect(row.n).to.be.at.least(1);
      expect(row.data).to.have.property('cpu');
    } finally {
      await client.end();
    }
  });

  it('the README\'s Grafana token steps work, and the api answers every history panel\'s query with that token', async function () {
    this.timeout(90_000);
    const api = `http://127.0.0.1:${mapping.ports.get('api')!.get(8000)}`;
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const r = await fetch(`${api}${path}`, {
        method,
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await r.text();
      return { status: r.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    };
    // 1. the generated administrator password, printed once in the api's log
    const api0 = running.find((r) => r.name === 'api')!;
    const m = /created administrator "([^"]+)" with the generated password: (\S+)/.exec(api0.output.join(''));
    expect(m, 'the api printed the generated admin password').to.not.equal(null);
    const [, username, password] = m!;
    // 2. first login, forced password change, login again
    const first = await call('POST', '/api/v1/auth/login', { username, password });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body.mustChangePassword).to.equal(true);
    const newPassword = `compose-test-${Date.now()}-password`;
    const changed = await call('POST', '/api/v1/auth/password', { currentPassword: password, newPassword }, String(first.body.token));
    expect(changed.status, JSON.stringify(changed.body)).to.equal(204);
    const session = await call('POST', '/api/v1/auth/login', { username, password: newPassword });
    // 3. a viewer token for Grafana (PERFWATCH_GRAFANA_TOKEN)
    const created = await call('POST', '/api/v1/tokens', { name: 'grafana', role: 'viewer' }, String(session.body.token));
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const token = String(created.body.token);
    grafanaToken = token;

    const host = envOf.exporter!.PERFWATCH_HOSTNAME!;
    const hosts = await call('GET', '/api/v1/hosts', undefined, token);
    expect((hosts.body.hosts as { name: string }[]).map((h) => h.name)).to.include(host);
    // Three snapshots, so that rates have two intervals to work with, and then one step more (the
    // query below steps 8 s): a point is the evaluation at its time, and the last one lies up to a
    // step before `to`, where the first three snapshots must already be.
    const db = new pg.Client({ connectionString: envOf.exporter!.DATABASE_URL });
    await db.connect();
    try {
      await until('three snapshots', async () => {
        const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM perfwatch.snapshots');
        return r.rows[0]!.n >= 3 ? true : undefined;
      }, 40_000, running[0]);
    } finally {
      await db.end();
    }
    await new Promise((r) => setTimeout(r, 8_000));
    const to = Date.now();
    let targets = 0;
    const empty = new Set<string>();
    for (const d of loadDashboards().filter((x) => x.variant === 'perfwatch')) {
      for (const q of queriesOf(d).filter((x) => x.kind === 'perfwatch')) {
        // what the plugin sends once Grafana has replaced $host
        const { datasource: _ds, legendFormat: _lf, ...t } = q.target as Obj;
        const target = { ...t, hosts: (t.hosts as string[]).map((h) => (h === '$host' ? host : h)) };
        const r = await call('POST', '/api/v1/query', { from: to - 3_600_000, to, maxDataPoints: 500, targets: [target] }, token);
        expect(r.status, `${d.file} "${q.panel}" ${String(t.metric)}: ${JSON.stringify(r.body)}`).to.equal(200);
        const [result] = r.body.results as { refId: string; series: { labels: Obj; values: (number | null)[] }[] }[];
        expect(result!.refId).to.equal(t.refId);
        if (!result!.series.some((x) => x.values.some((v) => typeof v === 'number'))) empty.add(q.panel);
        if (t.metric === 'perfwatch_load_average_1m') {
          // a gauge: the snapshots written so far are already there, under the compose host name
          expect(result!.series.map((x) => x.labels.host)).to.deep.equal([host]);
          expect(result!.series[0]!.values.some((v) => typeof v === 'number')).to.equal(true);
        }
        targets++;
      }
    }
    expect(targets).to.be.greaterThan(40);
    // the history panels this host has data for show it (the hardware counter panels cannot: no PMU here)
    for (const title of HISTORY_MUST_SHOW) {
      expect(empty.has(title), `history panel "${title}" has no data`).to.equal(false);
    }
    // and a bad target is refused, so the 200s above mean something
    const bad = await call('POST', '/api/v1/query', { from: to - 60_000, to, targets: [{ refId: 'A', metric: 'perfwatch_cpu_seconds_total', hosts: [host], matchers: [{ label: 'nope', op: '=', value: 'x' }] }] }, token);
    expect(bad.status).to.equal(400);
  });

  it('the api\'s PromQL API, asked as the provisioned "PerfWatch (PromQL)" data source asks it, answers $host and every switchable panel', async function () {
    this.timeout(120_000);
    expect(grafanaToken, 'the README token steps (the test before) created the token').to.not.equal('');
    const provisioned = parseYaml(readFileSync(join(ROOT, 'grafana', 'provisioning', 'datasources', 'perfwatch.yaml'), 'utf8')) as { datasources: Obj[] };
    const ds = provisioned.datasources.find((x) => x.uid === 'perfwatch-promql')!;
    // the provisioned URL with the api service where it listens here; basic auth with the token as password
    const base = String(ds.url).replace(/^http:\/\/api:8000\//, `http://127.0.0.1:${mapping.ports.get('api')!.get(8000)}/`);
    expect(base).to.match(/^http:\/\/127\.0\.0\.1:\d+\/prometheus$/);
    const basic = (password: string) => `Basic ${Buffer.from(`${String(ds.basicAuthUser)}:${password}`).toString('base64')}`;
    type Answer = { status: string; errorType?: string; error?: string; data: { resultType: string; result: { metric: Obj; values?: unknown[]; value?: unknown }[] } };
    const get = async (path: string, params: Record<string, string>, auth = basic(grafanaToken)) => {
      const r = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { headers: { authorization: auth } });
      return { http: r.status, body: (await r.json()) as Answer & { data: unknown } };
    };
    // Grafana's step and $__rate_interval: the data source's timeInterval (the snapshot interval), 4 of them
    const step = Number(/^(\d+)s$/.exec(String((ds.jsonData as Obj).timeInterval))![1]);
    const end = Math.floor(Date.now() / 1000 / step) * step;
    const start = end - 300;
    const host = envOf.exporter!.PERFWATCH_HOSTNAME!;

    // a wrong token is refused, so the answers below went through the token check
    const refused = await get('/api/v1/query', { query: 'perfwatch_load_average_1m', time: String(end) }, basic('pw_not-a-token'));
    expect(refused.http).to.equal(401);
    expect(refused.body.errorType).to.equal('unauthorized');

    // $host: the variable's label_values(metric, host), as Grafana asks /label/<name>/values
    const hostVar = ((loadDashboards().find((d) => d.variant === 'prometheus')!.json.templating as Obj).list as Obj[]).find((v) => v.name === 'host')!;
    const [, varMetric, varLabel] = /^label_values\((.+),\s*(\w+)\)$/.exec(String(hostVar.definition))!;
    const values = await get(`/api/v1/label/${varLabel}/values`, { 'match[]': varMetric!, start: String(start), end: String(end) });
    expect(values.http, JSON.stringify(values.body)).to.equal(200);
    expect(values.body.data).to.deep.equal([host]);

    const failed: string[] = [];
    const empty = new Set<string>();
    const shown = new Set<string>();
    let n = 0;
    for (const d of loadDashboards().filter((x) => x.variant === 'prometheus')) {
      for (const q of queriesOf(d).filter((x) => x.switchable && x.target.expr)) {
        const expr = String(q.target.expr).replace(/\$__rate_interval/g, `${4 * step}s`).replace(/\$host/g, host);
        const asked = [get('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(step) })];
        // a table panel's instant query, as Grafana sends it
        if (q.target.instant) asked.push(get('/api/v1/query', { query: expr, time: String(end) }));
        for (const r of await Promise.all(asked)) {
          n++;
          if (r.http !== 200 || r.body.status !== 'success') failed.push(`${d.file} "${q.panel}": ${r.http} ${r.body.error}`);
          else if (r.body.data.result.length === 0) empty.add(q.panel);
          else shown.add(q.panel);
        }
      }
    }
    expect(n).to.be.greaterThan(50);
    expect(failed).to.deep.equal([]);
    // the core panels this machine has data for show it (hardware counter panels cannot: no PMU here);
    // the same lists as the history and the Prometheus checks, less the panels pinned to Prometheus
    const switchable = new Set([...shown, ...empty]);
    const core = [...new Set([...HISTORY_MUST_SHOW, ...PROMETHEUS_MUST_SHOW])].filter((t) => switchable.has(t));
    expect(core.length).to.be.greaterThan(12);
    for (const title of core) expect(shown.has(title), `panel "${title}" has no data from the api`).to.equal(true);
  });

  it('backup and restore as README.md says (pg_dump -Fc, pg_restore --clean --if-exists --no-owner) bring the history back', async function () {
    this.timeout(60_000);
    const port = String(mapping.ports.get('db')!.get(5432));
    const pgEnv = { ...process.env, PGHOST: '127.0.0.1', PGPORT: port, PGPASSWORD: dbEnv.POSTGRES_PASSWORD! };
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).to.contain(`pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Fc`);
    expect(readme).to.contain(`pg_restore -U "$POSTGRES_USER" -d "$POSTGRES_DB" --clean --if-exists --no-owner`);
    const url = (db: string) => `postgres://${dbEnv.POSTGRES_USER}:${dbEnv.POSTGRES_PASSWORD}@127.0.0.1:${port}/${db}`;
    const count = async (db: string) => {
      const c = new pg.Client({ connectionString: url(db) });
      await c.connect();
      try {
        return (await c.query<{ n: number; users: number }>('SELECT (SELECT count(*) FROM perfwatch.snapshots)::int AS n, (SELECT count(*) FROM perfwatch.users)::int AS users')).rows[0]!;
      } finally {
        await c.end();
      }
    };
    const before = await count(dbEnv.POSTGRES_DB!);
    const dump = join(tmp, 'perfwatch.dump');
    const d = spawnSync(join(PG_BIN, 'pg_dump'), ['-U', dbEnv.POSTGRES_USER!, '-d', dbEnv.POSTGRES_DB!, '-Fc', '-f', dump], { env: pgEnv, encoding: 'utf8' });
    expect(d.status, d.stderr).to.equal(0);
    const admin = new pg.Client({ connectionString: url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE perfwatch_restored');
    await admin.end();
    const r = spawnSync(join(PG_BIN, 'pg_restore'), ['-U', dbEnv.POSTGRES_USER!, '-d', 'perfwatch_restored', '--clean', '--if-exists', '--no-owner', dump], { env: pgEnv, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const after = await count('perfwatch_restored');
    // the exporter keeps writing: the restored copy has what the dump held, at least as many as counted before
    expect(after.n).to.be.at.least(before.n);
    expect(after.n).to.be.greaterThan(0);
    expect(after.users).to.equal(before.users);
  });

  it('Prometheus with prometheus/prometheus.yml scrapes both, and every PromQL panel and the $host query evaluate there', async function () {
    this.timeout(120_000);
    const svc = services.prometheus!;
    const bin = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
    if (bin.error) {
      // scripts/test.mjs installs Debian's prometheus package (promtool and the server)
      console.log('      prometheus is not installed (apt-get install prometheus): skipped');
      this.skip();
    }
    // the compose file's configuration, its targets moved to where exporter and api listen here,
    // and a 1 s scrape interval so that rate() has samples within seconds
    const file = parseVolumes(svc).find((v) => v.target === '/etc/prometheus/prometheus.yml')!;
    const prom = parseYaml(readFileSync(join(ROOT, file.source), 'utf8')) as { global: Obj; scrape_configs: { static_configs: { targets: string[] }[] }[] };
    prom.global.scrape_interval = '1s';
    for (const job of prom.scrape_configs) {
      for (const sc of job.static_configs) {
        sc.targets = sc.targets.map((t) => {
          const [name, port] = t.split(':');
          return `127.0.0.1:${mapping.ports.get(name!)!.get(Number(port))}`;
        });
      }
    }
    const config = join(tmp, 'prometheus.yml');
    writeFileSync(config, stringifyYaml(prom));
    const port = mapping.ports.get('prometheus')!.get(9090)!;
    const args = (svc.command as string[]).map((a) =>
      a.startsWith('--config.file=') ? `--config.file=${config}` : a.startsWith('--storage.tsdb.path=') ? `--storage.tsdb.path=${mapping.volumes.get('prometheus-data')}` : a);
    const p = start('prometheus', ['prometheus', ...args, `--web.listen-address=127.0.0.1:${port}`], tmp, process.env as Record<string, string>);
    running.push(p);
    const api = `http://127.0.0.1:${port}/api/v1`;
    const query = async (q: string) => {
      const r = await fetch(`${api}/query?query=${encodeURIComponent(q)}`);
      return (await r.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    };
    // both targets up, and a few scrapes in
    await until('both targets scraped', async () => {
      try {
        const r = await query('count_over_time(up[1m]) >= 4 and up == 1');
        return r.data.result.length === 2 ? true : undefined;
      } catch {
        return undefined;
      }
    }, 60_000, p);
    // the exporter target's host label is the exporter's PERFWATCH_HOSTNAME (the name in the
    // history, so $host is the same host on both data sources); the relabeling gives the api target
    // its address without the port; Prometheus' instance is left alone
    const hostVar = ((loadDashboards().find((d) => d.variant === 'prometheus')!.json.templating as Obj).list as Obj[]).find((v) => v.name === 'host')!;
    const [, varMetric, varLabel] = /^label_values\((.+),\s*(\w+)\)$/.exec(String(hostVar.definition))!;
    const hosts = await fetch(`${api}/label/${varLabel}/values?match[]=${encodeURIComponent(varMetric!)}`);
    const values = ((await hosts.json()) as { data: string[] }).data;
    expect(values).to.deep.equal([envOf.exporter!.PERFWATCH_HOSTNAME]);
    const up = await query('up');
    expect(up.data.result.map((r) => `${r.metric.job}:${r.metric.host}`).sort()).to.deep.equal(['perfwatch-api:127.0.0.1', `perfwatch-exporter:${envOf.exporter!.PERFWATCH_HOSTNAME}`]);
    expect(up.data.result.map((r) => r.metric.instance).sort()).to.deep.equal(
      [mapping.ports.get('exporter')!.get(9101), mapping.ports.get('api')!.get(8000)].map((port) => `127.0.0.1:${port}`).sort());

    const failed: string[] = [];
    const empty: string[] = [];
    let n = 0;
    for (const d of loadDashboards()) {
      for (const q of queriesOf(d).filter((x) => x.kind === 'promql' && x.target.expr)) {
        // what Grafana sends with $host = the host label and $__rate_interval = 4 scrape intervals
        const expr = String(q.target.expr).replace(/\$__rate_interval/g, '4s').replace(/\$host/g, values[0]!);
        const r = await query(expr);
        n++;
        if (r.status !== 'success') failed.push(`${d.file} "${q.panel}": ${r.error}`);
        else if (r.data.result.length === 0) empty.push(`${d.file} "${q.panel}": ${expr}`);
      }
    }
    expect(n).to.be.greaterThan(80);
    expect(failed).to.deep.equal([]);
    // Panels this machine has data for must show it
    for (const title of PROMETHEUS_MUST_SHOW) expect(empty.filter((e) => e.includes(`"${title}"`) || e.includes(`"${title} (Prometheus)"`)), title).to.deep.equal([]);
  });

  it('every metric the dashboards query is served by the exporter or the api (or is a derived metric of the history)', async () => {
    const served = new Set([...sampleNames(exporterMetrics), ...sampleNames(apiMetrics)]);
    // Families this machine lacks (pressure, swap, hardware perf events) come from the fixture
    // machines' golden /metrics, and the perf events from this exporter's own snapshot with every
    // configured event counted: the names the exporter gives them.
    for (const f of ['small', 'large']) for (const n of sampleNames(readFileSync(join(ROOT, 'exporter', 'test', 'fixtures', f, 'metrics.golden.txt'), 'utf8'))) served.add(n);
    // the containers' families (a compose host may have no cgroup with a quota, OOM kill or PSI) from the cgroup fixture trees
    for (const f of ['v2', 'docker', 'k8s', 'v1']) for (const n of sampleNames(readFileSync(join(ROOT, 'exporter', 'test', 'fixtures', 'cgroups', f, 'metrics.golden.txt'), 'utf8'))) served.add(n);
    const client = new pg.Client({ connectionString: envOf.exporter!.DATABASE_URL });
    await client.connect();
    let snap: Snapshot;
    try {
      snap = (await client.query<{ data: Snapshot }>('SELECT s.data FROM perfwatch.snapshots s ORDER BY s.ts DESC LIMIT 1')).rows[0]!.data;
    } finally {
      await client.end();
    }
    expect(snap.perf, 'the perf section of a snapshot').to.not.equal(undefined);
    const perf = snap.perf!;
    const c = Object.fromEntries(Object.keys(perf.c).map((cpu) => [cpu, perf.ev.map(() => 1)]));
    // and as a perf-counted cgroup's (PERFWATCH_PERF_CGROUPS) would be named
    const counted = { ...snap, perf: { ...perf, un: {}, c, cg: { '/sys/fs/cgroup/system.slice': { c, r: {}, un: {} } } } };
    for (const m of metricsOf(counted)) served.add(m.name);

    const missing: string[] = [];
    let checked = 0;
    for (const d of loadDashboards()) {
      for (const q of queriesOf(d)) {
        for (const metric of q.metrics) {
          checked++;
          const ok = q.kind === 'perfwatch' ? derivedMetric(metric) !== undefined || (served.has(metric) && metricInfo(metric) !== undefined) : served.has(metric);
          if (!ok) missing.push(`${d.file} "${q.panel}": ${metric}`);
        }
      }
    }
    expect(checked).to.be.greaterThan(100);
    expect(missing).to.deep.equal([]);
    // and the check can fail
    expect(served.has('perfwatch_cpu_seconds_totals')).to.equal(false);
  });
});
