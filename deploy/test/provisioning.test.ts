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
      writeFileSync(broken, readFileSync(file, 'utf8').replace("regex: '(.+):\\d+'", "regex: '(.+:\\d+'"));
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

  it('sets instance to the target host without the port (the dashboards\' $host), as Prometheus applies the regex (anchored)', () => {
    for (const job of config.scrape_configs) {
      const rule = (job.relabel_configs as Obj[]).find((r) => r.target_label === 'instance')!;
      const re = new RegExp(`^(?:${String(rule.regex)})$`);
      const apply = (addr: string) => (re.test(addr) ? addr.replace(re, String(rule.replacement).replace(/\$(\d)/g, '$$$1')) : addr);
      expect(apply('exporter:9101')).to.equal('exporter');
      expect(apply('db-host.example.com:9101')).to.equal('db-host.example.com');
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

  it('every data source a dashboard uses is provisioned', () => {
    const used = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const o = v as Obj;
        if (isDatasourceRef(o.datasource)) used.add(String(o.datasource.uid));
        Object.values(o).forEach(walk);
      }
    };
    for (const dir of ['perfwatch', 'prometheus']) {
      for (const f of readdirSync(join(ROOT, 'dashboards', dir))) walk(JSON.parse(readFileSync(join(ROOT, 'dashboards', dir, f), 'utf8')));
    }
    used.delete('-- Grafana --');
    expect([...used].sort()).to.deep.equal(['perfwatch', 'prometheus']);
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
