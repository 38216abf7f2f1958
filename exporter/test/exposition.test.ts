import { expect } from 'chai';
import type { Snapshot } from '@perfwatch/store';
import { COLLECTORS } from '../src/collectors/registry.js';
import { writeFamilies } from '../src/exposition.js';
import { snapshotFamilies, type Family } from '../src/families.js';
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { HistogramState, writeStaticFamilies, type StaticFamily } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { quietLogger, testConfig } from './helpers.js';

// prom-client's typings leave out the constructor's content-type argument.
function registry(openMetrics: boolean): Registry {
  const r = new Registry();
  if (openMetrics) r.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  return r;
}

/** The same families through prom-client's own Registry: the reference the writer is held to. */
async function renderWithPromClient(families: readonly Family[], openMetrics: boolean): Promise<string> {
  const reg = registry(openMetrics);
  for (const family of families) {
    const metric = { name: family.name, help: family.help, type: family.type, get: () => ({ ...family, name: metric.name, aggregator: 'sum' }) };
    reg.registerMetric(metric as unknown as Metric);
  }
  return reg.metrics();
}

async function snapshot(fixture?: string): Promise<Snapshot> {
  const p = new SnapshotPipeline(testConfig({}, fixture), COLLECTORS.filter((c) => c.defaultEnabled), quietLogger());
  const s = await p.collect();
  await p.close();
  return s;
}

describe('exposition writer', () => {
  for (const fixture of ['small', 'large', undefined]) {
    for (const om of [false, true]) {
      it(`prints exactly what prom-client prints: ${fixture ?? 'this machine'}, ${om ? 'OpenMetrics' : 'text 0.0.4'}`, async () => {
        const fams = snapshotFamilies(await snapshot(fixture));
        const ours = writeFamilies(fams, om) + (om ? '\n# EOF\n' : '\n');
        expect(ours).to.equal(await renderWithPromClient(fams, om));
      });
    }
  }

  it('escapes help and label values like prom-client, and prints special values', async () => {
    const fams: Family[] = [
      { name: 'perfwatch_test_total', help: 'back\\slash and\nnewline', type: 'counter', values: [{ labels: { mountpoint: '/mnt/a "b"\\c\nd' }, value: 1.5 }] },
      { name: 'perfwatch_test_gauge', help: 'g', type: 'gauge', values: [{ labels: {}, value: Infinity }, { labels: { a: 'x' }, value: -Infinity }] },
    ];
    for (const om of [false, true]) {
      expect(writeFamilies(fams, om) + (om ? '\n# EOF\n' : '\n')).to.equal(await renderWithPromClient(fams, om));
    }
    expect(writeFamilies([{ name: 'x', help: 'h', type: 'gauge', values: [{ labels: {}, value: NaN }] }], false)).to.match(/ NaN$/);
  });

  for (const om of [false, true]) {
    it(`static families (build info, the writer's gauges, counters and histogram) print what prom-client's metric objects print: ${om ? 'OpenMetrics' : 'text 0.0.4'}`, async () => {
      const bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
      const observed = [0.003, 0.005, 0.0051, 0.2, 0.2, 7, 12.5, 0.01];
      const reg = registry(om);
      const registers = [reg];
      new Gauge({ name: 'x_build_info', help: 'Always 1; with "quotes", a \\ and a\nnewline.', labelNames: ['version', 'revision'], registers }).set({ version: 'v"1\\2', revision: 'a\nb' }, 1);
      new Gauge({ name: 'x_queued', help: 'Queued.', registers }).set(3);
      new Counter({ name: 'x_written_total', help: 'Written.', registers }).inc(12345678901);
      const dropped = new Counter({ name: 'x_dropped_total', help: 'Dropped, by reason.', labelNames: ['reason'], registers });
      dropped.inc({ reason: 'invalid' }, 2);
      dropped.inc({ reason: 'closed' }, 0);
      new Gauge({ name: 'x_last_seconds', help: 'Last.', registers }).set(1765150000.123);
      const h = new Histogram({ name: 'x_duration_seconds', help: 'Durations.', buckets: bounds, registers });
      const state = new HistogramState(bounds);
      for (const v of observed) {
        h.observe(v);
        state.observe(v);
      }
      const ours: StaticFamily[] = [
        { name: 'x_build_info', help: 'Always 1; with "quotes", a \\ and a\nnewline.', type: 'gauge', values: [{ labels: { version: 'v"1\\2', revision: 'a\nb' }, value: 1 }] },
        { name: 'x_queued', help: 'Queued.', type: 'gauge', values: [{ labels: {}, value: 3 }] },
        { name: 'x_written_total', help: 'Written.', type: 'counter', values: [{ labels: {}, value: 12345678901 }] },
        { name: 'x_dropped_total', help: 'Dropped, by reason.', type: 'counter', values: [{ labels: { reason: 'invalid' }, value: 2 }, { labels: { reason: 'closed' }, value: 0 }] },
        { name: 'x_last_seconds', help: 'Last.', type: 'gauge', values: [{ labels: {}, value: 1765150000.123 }] },
        { name: 'x_duration_seconds', help: 'Durations.', type: 'histogram', bounds, counts: state.counts, sum: state.sum },
      ];
      expect(writeStaticFamilies(ours, om)).to.equal(await reg.metrics());
    });
  }
});
