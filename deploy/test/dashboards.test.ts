/**
 * The eight provisioned dashboards: generated output matches dashboards/build.mjs, the JSON is a
 * sound Grafana dashboard (unique ids, a layout without overlaps, known units, a $host variable),
 * every PromQL expression parses with Prometheus' grammar, and every PerfWatch target names a
 * metric of the store's catalog with labels that metric has. The Prometheus variant's `$datasource`
 * switch: its panels select by the `host` label and every expression on `${datasource}` is one
 * PerfWatch's PromQL API evaluates (its own parser accepts it) over metrics its history holds; the
 * panels pinned to Prometheus say so and read a metric the history lacks. That each metric really
 * appears in the exporter's and the api's output, and that the api answers each switchable
 * expression, is checked in compose-run.test.ts, which runs them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { derivedMetric, metricInfo } from '@perfwatch/store/catalog';
import { loadDashboards, panelsOf, promqlMetrics, queriesOf, refusedByApi, SWITCHABLE_UID } from './dashboards.js';
import { ROOT, type Obj } from './helpers.js';

/** What dashboards/build.mjs writes into the description of a panel pinned to Prometheus. */
const PROMETHEUS_ONLY = 'Prometheus only:';

const dashboards = loadDashboards();
/** Grafana unit ids the dashboards may use. */
const UNITS = new Set(['short', 'percentunit', 'bytes', 'Bps', 's', 'ops', 'iops', 'pps', 'reqps', 'hertz']);
const PANEL_TYPES = new Set(['row', 'timeseries', 'table']);

function labelsOf(metric: string): string[] | undefined {
  const m = metricInfo(metric) ?? derivedMetric(metric);
  return m ? [...m.labels, 'host'] : undefined;
}

describe('dashboards', () => {
  it('are the output of dashboards/build.mjs, and its --check notices a hand edit', function () {
    this.timeout(30_000);
    const r = spawnSync(process.execPath, [join(ROOT, 'dashboards', 'build.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-dash-'));
    try {
      cpSync(join(ROOT, 'dashboards'), dir, { recursive: true });
      const f = join(dir, 'prometheus', 'host-overview.json');
      writeFileSync(f, readFileSync(f, 'utf8').replace('"Load average"', '"Load"'));
      const bad = spawnSync(process.execPath, [join(dir, 'build.mjs'), '--check'], { encoding: 'utf8' });
      expect(bad.status).to.equal(1);
      expect(bad.stderr).to.contain('prometheus/host-overview.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are four dashboards in two variants, with unique uids and titles', () => {
    expect(dashboards.map((d) => d.file)).to.deep.equal([
      'dashboards/perfwatch/containers-and-services.json', 'dashboards/perfwatch/cpu-performance-counters.json', 'dashboards/perfwatch/host-overview.json', 'dashboards/perfwatch/self-monitoring.json',
      'dashboards/prometheus/containers-and-services.json', 'dashboards/prometheus/cpu-performance-counters.json', 'dashboards/prometheus/host-overview.json', 'dashboards/prometheus/self-monitoring.json',
    ]);
    const uids = dashboards.map((d) => d.json.uid);
    const titles = dashboards.map((d) => d.json.title);
    expect(new Set(uids).size).to.equal(8);
    expect(new Set(titles).size).to.equal(8);
    for (const d of dashboards) {
      expect(String(d.json.uid)).to.match(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(d.json.schemaVersion, d.file).to.be.within(39, 42);
      expect(d.json.tags).to.include('perfwatch');
    }
  });

  for (const d of dashboards) {
    describe(d.file, () => {
      const panels = panelsOf(d.json);

      it('has unique panel ids and a layout inside 24 columns without overlaps', () => {
        const ids = panels.map((p) => p.id);
        expect(ids.every((id) => Number.isInteger(id) && (id as number) > 0)).to.equal(true);
        expect(new Set(ids).size, 'duplicate panel id').to.equal(ids.length);
        const cells = new Map<string, unknown>();
        for (const p of panels) {
          const g = p.gridPos as { x: number; y: number; w: number; h: number };
          expect(g.x + g.w, `${String(p.title)} width`).to.be.at.most(24);
          for (let x = g.x; x < g.x + g.w; x++) {
            for (let y = g.y; y < g.y + g.h; y++) {
              expect(cells.get(`${x},${y}`), `${String(p.title)} overlaps`).to.equal(undefined);
              cells.set(`${x},${y}`, p.title);
            }
          }
        }
      });

      it('groups panels in rows per subsystem, each panel with known type, unit and unique refIds', () => {
        expect(panels.filter((p) => p.type === 'row').length).to.be.at.least(2);
        expect((d.json.panels as Obj[])[0]!.type).to.equal('row');
        for (const p of panels) {
          expect(PANEL_TYPES.has(String(p.type)), String(p.type)).to.equal(true);
          if (p.type === 'row') continue;
          const unit = ((p.fieldConfig as Obj).defaults as Obj).unit;
          expect(UNITS.has(String(unit)), `${String(p.title)}: unit ${String(unit)}`).to.equal(true);
          const refIds = (p.targets as Obj[]).map((t) => t.refId);
          expect(refIds.length, String(p.title)).to.be.greaterThan(0);
          expect(new Set(refIds).size).to.equal(refIds.length);
        }
      });

      it('has a $host variable of its data source', () => {
        const vars = (d.json.templating as Obj).list as Obj[];
        const host = vars.find((v) => v.name === 'host')!;
        expect(host.multi).to.equal(true);
        expect(host.includeAll).to.equal(true);
        if (d.variant === 'prometheus') {
          // the host label, which Prometheus' relabeling and PerfWatch's PromQL API both set
          expect(host.datasource).to.deep.equal({ type: 'prometheus', uid: SWITCHABLE_UID });
          expect(String(host.definition)).to.match(/^label_values\(perfwatch_\w+, host\)$/);
          expect((host.query as Obj).query).to.equal(host.definition);
          // $datasource comes first: Grafana resolves variables in order and $host reads it
          expect(vars.map((v) => v.name)).to.deep.equal(['datasource', 'host']);
        } else {
          expect(host.datasource).to.deep.equal({ type: 'perfwatch-history-datasource', uid: 'perfwatch' });
          expect(host.query).to.equal('hosts()');
        }
      });

      const queries = queriesOf(d);

      it('every PromQL expression parses, and host panels filter, group and label by host', () => {
        for (const q of queries.filter((x) => x.kind === 'promql')) {
          expect(q.errors, `${q.panel}: ${String(q.target.expr ?? q.target.definition)}`).to.deep.equal([]);
          expect(q.metrics.length, q.panel).to.be.greaterThan(0);
          const expr = String(q.target.expr ?? '');
          if (expr && !/job=~?"perfwatch-/.test(expr)) expect(expr, q.panel).to.contain('host=~"$host"');
          // instance is Prometheus' scrape target (host:port); PerfWatch's PromQL API has none
          expect(`${expr} ${String(q.target.legendFormat ?? '')}`, q.panel).to.not.contain('instance');
        }
      });

      if (d.variant === 'prometheus') {
        it('has a $datasource variable of Prometheus-type data sources, the provisioned Prometheus first', () => {
          const v = ((d.json.templating as Obj).list as Obj[]).find((x) => x.name === 'datasource')!;
          expect(v).to.deep.include({ type: 'datasource', query: 'prometheus', multi: false, includeAll: false });
          expect((v.current as Obj).value).to.equal('prometheus');
        });

        it('reads ${datasource} in every panel but the Prometheus-only ones, which say so', () => {
          let switchable = 0;
          for (const p of panelsOf(d.json).filter((x) => x.type !== 'row')) {
            const uid = (p.datasource as Obj).uid;
            const pinned = String(p.description ?? '').includes(PROMETHEUS_ONLY);
            expect(uid, String(p.title)).to.equal(pinned ? 'prometheus' : SWITCHABLE_UID);
            for (const t of p.targets as Obj[]) expect((t.datasource as Obj).uid, String(p.title)).to.equal(uid);
            if (!pinned) switchable++;
          }
          expect(switchable).to.be.greaterThan(0);
          // only self-monitoring has process metrics; host and counter dashboards switch entirely
          if (!d.file.endsWith('self-monitoring.json')) expect(switchable).to.equal(panelsOf(d.json).filter((x) => x.type !== 'row').length);
        });

        it('every switchable expression is one PerfWatch\'s PromQL API evaluates, over metrics its history holds', () => {
          const switchable = queries.filter((q) => q.switchable);
          expect(switchable.length).to.be.greaterThan(d.file.endsWith('self-monitoring.json') ? 2 : 10);
          expect(switchable.map((q) => q.panel)).to.include('variable $host');
          for (const q of switchable) {
            const expr = String(q.target.expr ?? /^label_values\((.+),\s*\w+\)$/.exec(String(q.target.definition))![1]);
            expect(refusedByApi(expr), `${q.panel}: ${expr}`).to.equal(undefined);
            for (const metric of q.metrics) expect(metricInfo(metric), `${q.panel}: ${metric} is not in the history's catalog`).to.not.equal(undefined);
          }
        });

        it('every panel pinned to Prometheus reads a metric the history does not hold', () => {
          for (const q of queries.filter((x) => x.kind === 'promql' && !x.switchable)) {
            expect(q.metrics.some((metric) => metricInfo(metric) === undefined), `${q.panel} could switch: ${q.metrics.join(', ')}`).to.equal(true);
          }
        });
      }

      if (d.variant === 'perfwatch') {
        it('shows outages and retention runs as annotations of the plugin, for $host', () => {
          const list = (d.json.annotations as Obj).list as Obj[];
          const a = list.find((x) => (x.datasource as Obj).uid === 'perfwatch')!;
          expect(a.enable).to.equal(true);
          expect(a.target).to.deep.include({ queryType: 'annotations', hosts: ['$host'] });
          expect((a.target as Obj).kinds).to.have.members(['gap', 'retention']);
        });

        it('every history target follows the plugin query model with the catalog\'s metrics and labels', () => {
          const history = queries.filter((q) => q.kind === 'perfwatch');
          expect(history.length).to.be.greaterThan(0);
          for (const { panel, target: t } of history) {
            const where = `${panel}: ${String(t.metric)}`;
            const labels = labelsOf(String(t.metric));
            expect(labels, `${where} is not in store/src/catalog.ts`).to.not.equal(undefined);
            expect(t.hosts, where).to.deep.equal(['$host']);
            for (const m of t.matchers as Obj[]) {
              expect(['=', '!=', '=~', '!~'], where).to.include(m.op);
              expect(labels, `${where}: matcher label`).to.include(m.label);
            }
            const agg = t.aggregation as { op: string; by: string[] } | undefined;
            if (agg) {
              expect(['sum', 'avg', 'min', 'max'], where).to.include(agg.op);
              for (const l of agg.by) expect(labels, `${where}: by`).to.include(l);
            }
            // a legend may only name labels the series still has
            const kept = agg ? agg.by : labels!;
            for (const [, l] of String(t.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) expect(kept, `${where}: legend {{${l}}}`).to.include(l);
          }
        });
      }
    });
  }

  it('both variants of a dashboard have the same panels in the same places', () => {
    for (const slug of ['host-overview', 'cpu-performance-counters', 'self-monitoring']) {
      const [pw, prom] = (['perfwatch', 'prometheus'] as const).map((v) => panelsOf(dashboards.find((d) => d.file === `dashboards/${v}/${slug}.json`)!.json));
      expect(pw!.map((p) => String(p.title).replace(/ \(Prometheus\)$/, ''))).to.deep.equal(prom!.map((p) => p.title));
      expect(pw!.map((p) => p.gridPos)).to.deep.equal(prom!.map((p) => p.gridPos));
    }
  });

  it('the PromQL check can fail: a broken expression has errors, and names come from selectors only', () => {
    expect(promqlMetrics('rate(perfwatch_cpu_seconds_total[5m]').errors).to.not.deep.equal([]);
    expect(promqlMetrics('sum by (host) (rate(a_total{host=~"$host"}[$__rate_interval])) / on (host) b').metrics).to.deep.equal(['a_total', 'b']);
  });

  it('the API check can fail: what PerfWatch\'s PromQL API does not evaluate is refused, naming it', () => {
    expect(refusedByApi('sum by (host, mode) (rate(perfwatch_cpu_seconds_total{host=~"$host"}[$__rate_interval]))')).to.equal(undefined);
    // The whole language is evaluated now (#14): what dashboards and alert rules use passes.
    const h = 'histogram_quantile(0.99, sum by (host, le) (rate(perfwatch_writer_write_duration_seconds_bucket{host=~"$host"}[$__rate_interval])))';
    expect(promqlMetrics(h).errors).to.deep.equal([]);
    for (const ok of [h, 'clamp_min(perfwatch_load_average_1m{host=~"$host"}, 0)', 'time() - perfwatch_writer_last_success_timestamp_seconds{host=~"$host"}', 'perfwatch_load_average_1m and perfwatch_load_average_5m', 'quantile(0.5, perfwatch_load_average_1m)']) {
      expect(refusedByApi(ok), ok).to.equal(undefined);
    }
    // valid PromQL for Prometheus 3 with its experimental features (lezer-promql parses it), refused by the api
    const info = 'info(perfwatch_load_average_1m{host=~"$host"})';
    expect(promqlMetrics(info).errors).to.deep.equal([]);
    expect(refusedByApi(info)).to.contain('info()');
    expect(refusedByApi('limit_ratio(0.5, perfwatch_load_average_1m)')).to.contain('limit_ratio');
  });
});
