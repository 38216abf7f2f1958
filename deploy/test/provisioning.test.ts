/**
 * prometheus/prometheus.yml and grafana/provisioning: valid for their programs (promtool), and
 * pointing at what docker-compose.yml really runs (service names, ports, mounts, variables).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { DEFAULTS as EXPORTER_DEFAULTS } from '../../exporter/src/config.js';
import { SWITCHABLE_UID } from './dashboards.js';
import { composeConfig, environmentOf, parsePort, parseVolume, ROOT, type Json, type Obj } from './helpers.js';

const compose = composeConfig(['docker-compose.yml']);
const services = compose.services as Record<string, Obj>;

function promtool(file: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Ports a service's container listens on (the targets of its published ports). */
function containerPorts(name: string): number[] {
  return ((services[name]?.ports as Json[] | undefined) ?? []).map((p) => parsePort(String(p).replace(/\$\{[^}]*\}/g, '1')).target);
}

describe('prometheus/prometheus.yml', () => {
  const file = join(ROOT, 'prometheus', 'prometheus.yml');
  const config = parse(readFileSync(file, 'utf8')) as { scrape_configs: Obj[] };

  it('passes promtool check config, and promtool does reject a broken copy', function () {
    if (spawnSync('promtool', ['--version']).error) {
      // scripts/test.mjs installs Debian's prometheus package (promtool) before the suites run
      console.log('      promtool is not installed (apt-get install prometheus): skipped');
      this.skip();
    }
    const ok = promtool(file);
    expect(ok.status, ok.out).to.equal(0);
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-prom-'));
    try {
      const broken = join(dir, 'prometheus.yml');
      writeFileSync(broken, readFileSync(file, 'utf8').replace("regex: ';(.+):\\d+'", "regex: ';(.+:\\d+'"));
      const bad = promtool(broken);
      expect(bad.status, bad.out).to.not.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scrapes the exporter and the api at the service names and ports docker-compose.yml runs them on', () => {
    const jobs = Object.fromEntries(config.scrape_configs.map((j) => [j.job_name, j]));
    expect(Object.keys(jobs).sort()).to.deep.equal(['perfwatch-api', 'perfwatch-exporter']);
    const targets = (job: string) => ((jobs[job]!.static_configs as Obj[])[0]!.targets as string[]);
    expect(targets('perfwatch-exporter')).to.deep.equal(['exporter:9101']);
    expect(targets('perfwatch-api')).to.deep.equal(['api:8000']);
    for (const job of Object.keys(jobs)) {
      for (const t of targets(job)) {
        const [svc, port] = t.split(':');
        expect(services[svc!], `${t}: a compose service`).to.not.equal(undefined);
        expect(containerPorts(svc!), `${t}: a port ${svc} listens on`).to.include(Number(port));
      }
    }
  });

  it('adds host, the target host without the port (the dashboards\' $host), unless the target names one; instance stays', () => {
    for (const job of config.scrape_configs) {
      const rules = job.relabel_configs as Obj[];
      expect(rules.map((r) => r.target_label), String(job.job_name)).to.deep.equal(['host']);
      const [rule] = rules;
      // as Prometheus applies a replace rule: source label values joined by ";", the regex anchored
      const re = new RegExp(`^(?:${String(rule!.regex)})$`);
      const apply = (labels: Record<string, string>) => {
        const joined = (rule!.source_labels as string[]).map((l) => labels[l] ?? '').join(';');
        return re.test(joined) ? { ...labels, host: joined.replace(re, String(rule!.replacement).replace(/\$(\d)/g, '$$$1')) } : labels;
      };
      expect(apply({ __address__: 'exporter:9101' })).to.deep.equal({ __address__: 'exporter:9101', host: 'exporter' });
      expect(apply({ __address__: 'db-host.example.com:9101' }).host).to.equal('db-host.example.com');
      // a host label set on the target (static_configs labels) is kept
      expect(apply({ __address__: 'exporter:9101', host: 'docker-host' }).host).to.equal('docker-host');
    }
  });
});

describe('grafana/provisioning', () => {
  const ds = parse(readFileSync(join(ROOT, 'grafana', 'provisioning', 'datasources', 'perfwatch.yaml'), 'utf8')) as { apiVersion: number; datasources: Obj[] };
  const byUid = Object.fromEntries(ds.datasources.map((d) => [d.uid, d]));
  const grafana = services.grafana!;

  it('provisions the PerfWatch plugin (uid perfwatch) with the api URL and the token from the environment', () => {
    const pw = byUid.perfwatch!;
    const pluginJson = JSON.parse(readFileSync(join(ROOT, 'datasource-plugin', 'src', 'plugin.json'), 'utf8')) as { id: string };
    expect(pw.type).to.equal(pluginJson.id);
    expect(pw.type).to.equal('perfwatch-history-datasource');
    expect((pw.jsonData as Obj).apiUrl).to.equal('http://api:8000');
    expect(containerPorts('api')).to.include(8000);
    // Grafana expands $VAR in provisioning files from its own environment, which compose sets
    expect((pw.secureJsonData as Obj).apiToken).to.equal('$PERFWATCH_GRAFANA_TOKEN');
    expect(environmentOf(grafana)).to.have.property('PERFWATCH_GRAFANA_TOKEN');
    expect(pw.jsonData).to.not.have.property('apiToken');
  });

  it('provisions Prometheus (uid prometheus) at the compose service', () => {
    const p = byUid.prometheus!;
    expect(p.type).to.equal('prometheus');
    expect(p.url).to.equal('http://prometheus:9090');
    expect(containerPorts('prometheus')).to.include(9090);
  });

  it('provisions PerfWatch\'s PromQL API (uid perfwatch-promql) as a Prometheus data source with the token as basic auth password', () => {
    const p = byUid['perfwatch-promql']!;
    expect(p).to.deep.include({ name: 'PerfWatch (PromQL)', type: 'prometheus', access: 'proxy', url: 'http://api:8000/prometheus', basicAuth: true, basicAuthUser: 'grafana' });
    expect(containerPorts('api')).to.include(8000);
    expect((p.secureJsonData as Obj).basicAuthPassword).to.equal('$PERFWATCH_GRAFANA_TOKEN');
    expect(JSON.stringify(p.jsonData)).to.not.contain('PERFWATCH_GRAFANA_TOKEN');
    const j = p.jsonData as Obj;
    expect(j.prometheusType).to.equal('Prometheus');
    // the version the api's buildinfo reports
    expect(j.prometheusVersion).to.equal('2.45.0');
    expect(readFileSync(join(ROOT, 'api', 'src', 'promql', 'router.ts'), 'utf8')).to.contain(`version: '${String(j.prometheusVersion)}'`);
    // the smallest step Grafana asks for: one snapshot interval of the exporter as compose runs it
    const interval = environmentOf(services.exporter!).PERFWATCH_INTERVAL_SECONDS ?? String(EXPORTER_DEFAULTS.intervalSeconds);
    expect(j.timeInterval).to.equal(`${interval}s`);
  });

  it('every data source a dashboard uses is provisioned, and $datasource starts at one and can pick PerfWatch (PromQL)', () => {
    const used = new Set<string>();
    const variables: Obj[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const o = v as Obj;
        if (isDatasourceRef(o.datasource)) used.add(String(o.datasource.uid));
        if (o.type === 'datasource' && typeof o.query === 'string') variables.push(o);
        Object.values(o).forEach(walk);
      }
    };
    for (const dir of ['perfwatch', 'prometheus']) {
      for (const f of readdirSync(join(ROOT, 'dashboards', dir))) walk(JSON.parse(readFileSync(join(ROOT, 'dashboards', dir, f), 'utf8')));
    }
    used.delete('-- Grafana --');
    expect([...used].sort()).to.deep.equal([SWITCHABLE_UID, 'perfwatch', 'prometheus']);
    // one $datasource variable per dashboard of the Prometheus variant
    expect(variables.length).to.equal(readdirSync(join(ROOT, 'dashboards', 'prometheus')).length);
    for (const v of variables) {
      // the variable's default is a provisioned data source of its type; PerfWatch's PromQL API is one it offers
      const start = byUid[String((v.current as Obj).value)];
      expect(start?.type).to.equal(v.query);
      expect(ds.datasources.filter((x) => x.type === v.query).map((x) => x.uid)).to.include('perfwatch-promql');
      used.add(String((v.current as Obj).value));
    }
    used.delete(SWITCHABLE_UID);
    for (const uid of used) expect(byUid[uid], uid).to.not.equal(undefined);
  });

  it('the dashboards provider reads the folder compose mounts the dashboards into, one Grafana folder per sub-directory', () => {
    const prov = parse(readFileSync(join(ROOT, 'grafana', 'provisioning', 'dashboards', 'perfwatch.yaml'), 'utf8')) as { providers: Obj[] };
    const [p] = prov.providers;
    const path = String((p!.options as Obj).path);
    expect((p!.options as Obj).foldersFromFilesStructure).to.equal(true);
    const mounts = (grafana.volumes as Json[]).map(parseVolume).filter((v) => v.target.startsWith(`${path}/`));
    expect(mounts.map((m) => m.source).sort()).to.deep.equal(['./dashboards/perfwatch', './dashboards/prometheus']);
    // the production image copies the same folders
    const dockerfile = readFileSync(join(ROOT, 'docker', 'grafana.Dockerfile'), 'utf8');
    for (const m of mounts) expect(dockerfile).to.contain(`COPY ${m.source.slice(2)} ${m.target}`);
  });
});

function isDatasourceRef(v: unknown): v is { uid: string } {
  return !!v && typeof v === 'object' && typeof (v as Obj).uid === 'string';
}
