import { expect } from 'chai';
import type { Snapshot } from '@perfwatch/store';
import { COLLECTORS } from '../src/collectors/registry.js';
import { writeFamilies } from '../src/exposition.js';
import { snapshotFamilies, type Family } from '../src/families.js';
import type { Metric } from 'prom-client';
import { registry } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { quietLogger, testConfig } from './helpers.js';

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
});
