/**
 * Rollup reads of named hosts (readBuckets with SampleSelector.hostNames and a key): a repeat
 * sends its rollup statement at once, from the series and watermarks the last read found, beside
 * the statement that looks the host up; it gives exactly what a read without that guess gives,
 * also after the host gained series (a larger machine's snapshots) and after its watermark moved.
 */
import { expect } from 'chai';
import { insertSnapshots, readBuckets, runRollups, type BucketSeries, type SampleSelector } from '../src/index.js';
import { testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2031, 9, 1, 0, 0, 0);

describe('rollup reads of named hosts, sent early from the last read', function () {
  this.timeout(120_000);
  let t: TestSchema;
  /** The statements the pool was given since the last reset, in order (their first words). */
  let sent: string[] = [];

  before(async () => {
    t = await testSchema({ migrate: true });
    await insertSnapshots(t.pool, simulate(fixtureSnapshot('small', { compact: true }), 'g', T0, 180, { intervalMs: MIN, seed: 3 }));
    await runRollups(t.pool, { tier: '1m', now: T0 + 2 * HOUR + 10 * MIN });
    const query = t.pool.query.bind(t.pool) as (...a: unknown[]) => unknown;
    (t.pool as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
      const text = typeof a[0] === 'string' ? a[0] : (a[0] as { text: string }).text;
      sent.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
      return query(...a);
    };
  });
  after(async () => {
    await t.drop();
  });

  const match = (_: string, l: Record<string, string>) => l.host === 'g' && l.mode === 'user';
  /** Without a key: no guess is kept or used (the reference). */
  const plain: SampleSelector = { metric: 'perfwatch_cpu_seconds_total', hostNames: ['g'], host: (h) => h === 'g', match };
  const keyed: SampleSelector = { ...plain, key: 'cpu user of g' };
  const show = (bs: BucketSeries[]) => bs.map((b) => ({ labels: b.labels, start: b.start, n: b.n, v3: b.v3 })).sort((x, y) => (JSON.stringify(x.labels) < JSON.stringify(y.labels) ? -1 : 1));
  const read = async (sel: SampleSelector, to: number) => show(await readBuckets(t.pool, sel, T0, to, '1m', { v3: true }));

  it('a repeat sends the rollup statement first and answers as a read without a guess', async () => {
    const reference = await read(plain, T0 + 2 * HOUR);
    expect(reference.length).to.equal(2);
    expect(reference[0]!.start.length).to.equal(120);
    expect(await read(keyed, T0 + 2 * HOUR)).to.deep.equal(reference);
    sent = [];
    expect(await read(keyed, T0 + 2 * HOUR)).to.deep.equal(reference);
    expect(sent).to.deep.equal(['SELECT series_id,', 'SELECT h.id,']);
  });

  it('after the host gained series, and after its watermark moved: the same as without a guess', async () => {
    // A larger machine under the same name: more CPUs, so more series of the metric.
    await insertSnapshots(t.pool, simulate(fixtureSnapshot('large', { compact: true }), 'g', T0 + 3 * HOUR, 60, { intervalMs: MIN, seed: 4 }));
    const to = T0 + 4 * HOUR;
    for (let round = 0; round < 2; round++) {
      const reference = await read(plain, to);
      expect(reference.length).to.be.greaterThan(2);
      expect(await read(keyed, to)).to.deep.equal(reference);
    }
    await runRollups(t.pool, { tier: '1m', now: T0 + 4 * HOUR + 10 * MIN });
    const reference = await read(plain, to);
    sent = [];
    expect(await read(keyed, to)).to.deep.equal(reference);
    // the guessed statement went out, was not the one needed, and the right one followed
    expect(sent.filter((s) => s === 'SELECT series_id,').length).to.equal(2);
    expect(sent[0]).to.equal('SELECT series_id,');
  });
});
