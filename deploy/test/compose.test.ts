/**
 * docker-compose.yml, docker-compose.prod.yml, the Dockerfiles and .env.example, checked without a
 * Docker engine (none runs on these machines): the compose specification's JSON schema, build
 * contexts and Dockerfile targets, host ports, every variable the services read, and what the
 * production override changes. compose-run.test.ts starts db, exporter and api for real.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Ajv } from 'ajv';
import {
  composeConfig,
  configVariables,
  environmentOf,
  interpolate,
  interpolateAll,
  mergeMaps,
  parsePort,
  parseVolume,
  readComposeTagged,
  readDockerfile,
  readEnvFile,
  ROOT,
  untag,
  type Json,
  type Obj,
} from './helpers.js';

const BASE = 'docker-compose.yml';
const PROD = 'docker-compose.prod.yml';

/** The Compose specification's JSON schema (draft-07), as the dclint package ships it (npm;
 *  its copy of compose-spec/compose-spec's schema/compose-spec.json). */
function validator() {
  const schema = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'dclint', 'schemas', 'compose.schema.json'), 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  // strict off: the schema has annotations Ajv's strict mode rejects ("deprecated" beside type unions).
  const ajv = new Ajv({ strict: false, allErrors: true });
  return ajv.compile(schema);
}

function services(config: Obj): Record<string, Obj> {
  return config.services as Record<string, Obj>;
}

const env = readEnvFile('.env.example');

describe('docker-compose.yml', () => {
  const validate = validator();

  it('validates against the compose specification schema, alone and merged with the production override', () => {
    for (const [what, doc] of [
      [BASE, untag(readComposeTagged(BASE))],
      [PROD, untag(readComposeTagged(PROD))],
      [`${BASE} + ${PROD}`, composeConfig([BASE, PROD])],
    ] as const) {
      const ok = validate(doc);
      expect(ok, `${what}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}`).to.equal(true);
    }
  });

  it('the schema rejects what Compose rejects (the check can fail)', () => {
    const bad = untag(readComposeTagged(BASE)) as Obj;
    const db = services(bad).db as Obj;
    expect(validate({ ...bad, services: { ...services(bad), db } })).to.equal(true);
    expect(validate({ ...bad, services: { ...services(bad), db: { ...db, restartt: 'always' } } })).to.equal(false);
    // depends_on conditions are required
    expect(validate({ ...bad, services: { ...services(bad), db: { ...db, depends_on: { x: {} } } } })).to.equal(false);
    expect(validate({ ...bad, services: { ...services(bad), db: { ...db, healthcheck: { interval: 5 } } } })).to.equal(false);
  });

  it('has the services of the deployment, and the database healthcheck and volume the issue asks for', () => {
    const s = services(composeConfig([BASE]));
    expect(Object.keys(s).sort()).to.deep.equal(['api', 'db', 'exporter', 'grafana', 'pgbouncer', 'prometheus']);
    // the fleet's pooler (#16) starts only with --profile fleet, after the database
    expect(s.pgbouncer!.profiles).to.deep.equal(['fleet']);
    expect((s.pgbouncer!.depends_on as Obj).db).to.deep.equal({ condition: 'service_healthy' });
    expect(s.db!.image).to.equal('postgres:15');
    const hc = s.db!.healthcheck as Obj;
    expect(hc.interval).to.equal('5s');
    expect(JSON.stringify(hc.test)).to.contain('pg_isready');
    expect((s.db!.volumes as Json[]).map(parseVolume)).to.deep.include({ type: 'volume', source: 'pgdata', target: '/var/lib/postgresql/data', readOnly: false });
    for (const name of ['api', 'exporter']) expect((s[name]!.depends_on as Obj).db).to.deep.equal({ condition: 'service_healthy' });
  });

  it('gives the exporter PERFMON (not privileged), the host pid namespace and read-only host mounts its root variables point at', () => {
    const x = services(composeConfig([BASE])).exporter!;
    expect(x.cap_add).to.deep.equal(['PERFMON']);
    expect(x.privileged).to.equal(undefined);
    expect(x.pid).to.equal('host');
    const mounts = (x.volumes as Json[]).map(parseVolume).filter((v) => v.type === 'bind');
    const e = environmentOf(x);
    for (const [variable, host] of [['PERFWATCH_PROC_ROOT', '/proc'], ['PERFWATCH_SYS_ROOT', '/sys'], ['PERFWATCH_ROOTFS', '/']] as const) {
      const m = mounts.find((v) => v.target === e[variable]);
      expect(m, `${variable}=${e[variable]} is a mount`).to.deep.include({ source: host, readOnly: true });
    }
  });

  it('gives Grafana the plugin dist, the provisioning, the dashboards and the unsigned-plugin allowance', () => {
    const g = services(composeConfig([BASE])).grafana!;
    const mounts = Object.fromEntries((g.volumes as Json[]).map(parseVolume).map((v) => [v.target, v.source]));
    expect(mounts['/var/lib/grafana/plugins/perfwatch-history-datasource']).to.equal('./datasource-plugin/dist');
    expect(mounts['/etc/grafana/provisioning']).to.equal('./grafana/provisioning');
    expect(mounts['/var/lib/grafana/dashboards/perfwatch']).to.equal('./dashboards/perfwatch');
    expect(mounts['/var/lib/grafana/dashboards/prometheus']).to.equal('./dashboards/prometheus');
    for (const [target, source] of Object.entries(mounts)) if (source.startsWith('./') && !source.includes('datasource-plugin')) expect(existsSync(join(ROOT, source)), `${source} (${target})`).to.equal(true);
    expect(environmentOf(g).GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS).to.equal('perfwatch-history-datasource');
    expect(environmentOf(g).PERFWATCH_GRAFANA_TOKEN).to.equal('${PERFWATCH_GRAFANA_TOKEN:-}');
  });

  it('every build context and Dockerfile exists, and each target stage is in its Dockerfile with a HEALTHCHECK', () => {
    let builds = 0;
    for (const files of [[BASE], [BASE, PROD]]) {
      for (const [name, s] of Object.entries(services(composeConfig(files)))) {
        if (!s.build) continue;
        builds++;
        const b = s.build as Obj;
        const context = join(ROOT, String(b.context));
        expect(statSync(context).isDirectory(), `${name}: context ${String(b.context)}`).to.equal(true);
        const dockerfile = String(b.dockerfile ?? 'Dockerfile');
        expect(existsSync(join(context, dockerfile)), `${name}: ${dockerfile}`).to.equal(true);
        const stages = readDockerfile(join(String(b.context), dockerfile));
        const stage = b.target ? stages.get(String(b.target)) : [...stages.values()].at(-1);
        expect(stage, `${name}: target ${String(b.target)} in ${dockerfile}`).to.not.equal(undefined);
        expect(stage!.healthcheck, `${name}: HEALTHCHECK`).to.be.an('array').that.is.not.empty;
        // every COPY source of the build context exists (a stage-to-stage COPY --from is not the context's)
        for (const st of stages.values()) {
          for (const args of st.copies) {
            if (args.some((a) => a.startsWith('--from='))) continue;
            for (const src of args.slice(0, -1)) {
              // the plugin's dist/ is built by its own npm project before `docker compose build`
              if (src.startsWith('--') || src === 'datasource-plugin/dist') continue;
              expect(existsSync(join(context, src)), `${dockerfile}: COPY ${src}`).to.equal(true);
            }
          }
        }
      }
    }
    expect(builds).to.equal(3 + 5);
  });

  it('the images build on node:20-bookworm-slim, the api runs unprivileged, the exporter as root (for perf)', () => {
    const stages = readDockerfile('docker/Dockerfile');
    const text = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8');
    expect(text).to.match(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(stages.get('build')!.from).to.equal('${NODE_IMAGE}');
    expect(stages.get('api')!.user).to.equal('node');
    expect(stages.get('exporter')!.user).to.equal('root');
    // the native addon is built in the build stage and only copied into the runtime
    expect(stages.get('build')!.copies.some((c) => c.includes('native/binding.gyp'))).to.equal(true);
    expect(stages.get('runtime')!.copies.some((c) => c.some((a) => a.endsWith('perfwatch_native.node')))).to.equal(true);
  });

  it('no two services publish the same host port, in development and production', () => {
    for (const files of [[BASE], [BASE, PROD]]) {
      const config = interpolateAll(composeConfig(files), env.values) as Obj;
      const seen = new Map<number, string>();
      for (const [name, s] of Object.entries(services(config))) {
        for (const p of (s.ports as Json[] | undefined) ?? []) {
          const { published } = parsePort(p);
          expect(Number.isInteger(published) && published > 0, `${name}: ${String(p)}`).to.equal(true);
          expect(seen.get(published), `host port ${published} of ${name}`).to.equal(undefined);
          seen.set(published, name);
        }
      }
      expect(seen.size).to.be.greaterThan(4);
    }
  });

  it('.env.example sets or documents every variable the services and the compose files read, and nothing unknown', () => {
    const read = [...configVariables('exporter/src/config.ts'), ...configVariables('api/src/config.ts')];
    expect(read).to.include.members(['PERFWATCH_PROC_ROOT', 'DATABASE_URL', 'JWT_SECRET', 'NODE_ENV']);
    const missing = read.filter((v) => !env.documented.has(v));
    expect(missing, 'variables read by exporter/src/config.ts or api/src/config.ts missing from .env.example').to.deep.equal([]);

    const interpolated = new Set<string>();
    for (const f of [BASE, PROD]) interpolateAll(untag(readComposeTagged(f)), env.values, interpolated);
    const undocumented = [...interpolated].filter((v) => !env.documented.has(v));
    expect(undocumented, 'compose variables missing from .env.example').to.deep.equal([]);

    // the other way round: a typo in .env.example would silently do nothing
    const known = new Set([...read, ...interpolated]);
    expect([...env.documented].filter((v) => !known.has(v)), '.env.example variables nothing reads').to.deep.equal([]);
  });

  it('the exporter and api `environment` set only variables their config module reads (no typo does nothing)', () => {
    for (const files of [[BASE], [BASE, PROD]]) {
      const s = services(composeConfig(files));
      for (const [name, config] of [['exporter', 'exporter/src/config.ts'], ['api', 'api/src/config.ts']] as const) {
        const read = new Set(configVariables(config));
        const unread = Object.keys(environmentOf(s[name]!)).filter((k) => !read.has(k));
        expect(unread, `${name} (${files.join(' + ')})`).to.deep.equal([]);
      }
    }
  });

  it('.env.example holds no secret: the required values are placeholders, and interpolation fails without them', () => {
    expect(env.values.POSTGRES_PASSWORD).to.match(/change-me/);
    expect(env.values.PERFWATCH_GRAFANA_TOKEN).to.equal('');
    const withoutPassword = { ...env.values };
    delete withoutPassword.POSTGRES_PASSWORD;
    expect(() => interpolateAll(composeConfig([BASE]), withoutPassword)).to.throw(/POSTGRES_PASSWORD/);
    expect(interpolate('a$${B}c${C:-d}', {})).to.equal('a${B}cd');
  });

  it('.dockerignore keeps .env, .git and node_modules out of the build context', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', '.env', '**/node_modules']) expect(lines).to.include(p);
  });
});

describe('docker-compose.prod.yml', () => {
  const merged = interpolateAll(composeConfig([BASE, PROD]), env.values) as Obj;
  const s = services(merged);

  it('publishes no database port', () => {
    expect(s.db!.ports ?? []).to.deep.equal([]);
    // it did in development: the override changed something
    expect(services(composeConfig([BASE])).db!.ports).to.have.length(1);
  });

  it('bind-mounts nothing from the checkout; only the exporter keeps the host\'s /proc, /sys and / read-only', () => {
    for (const [name, svc] of Object.entries(s)) {
      const binds = ((svc.volumes as Json[] | undefined) ?? []).map(parseVolume).filter((v) => v.type === 'bind');
      if (name === 'exporter') {
        expect(binds.map((b) => [b.source, b.readOnly])).to.deep.equal([['/proc', true], ['/sys', true], ['/', true]]);
      } else {
        expect(binds, name).to.deep.equal([]);
      }
    }
    // named volumes stay: the data survives
    expect(((s.grafana!.volumes as Json[]) ?? []).map(parseVolume)).to.deep.equal([{ type: 'volume', source: 'grafana-data', target: '/var/lib/grafana', readOnly: false }]);
  });

  it('sets NODE_ENV=production for the api (unset in development) and keeps the rest of the environment', () => {
    expect(environmentOf(s.api!).NODE_ENV).to.equal('production');
    expect(environmentOf(services(composeConfig([BASE])).api!).NODE_ENV).to.equal(undefined);
    expect(readDockerfile('docker/Dockerfile').get('api')!.env.NODE_ENV).to.equal(undefined);
    expect(environmentOf(s.exporter!).PERFWATCH_PROC_ROOT).to.equal('/host/proc');
    expect(environmentOf(s.api!).DATABASE_URL).to.match(/^postgres:\/\/perfwatch:.+@db:5432\/perfwatch$/);
  });

  it('the merge follows Compose: !override replaces, volumes merge by target, other lists append', () => {
    const m = mergeMaps(
      { a: { volumes: ['x:/a', 'y:/b'], ports: ['1:1'], command: ['p'] } },
      { a: { volumes: ['z:/b'], ports: ['2:2'], command: ['q'] } },
    );
    expect(m).to.deep.equal({ a: { volumes: ['x:/a', 'z:/b'], ports: ['1:1', '2:2'], command: ['q'] } });
  });
});
