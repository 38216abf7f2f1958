/**
 * How readBuckets decodes rollup rows (samples.ts TierScratch): every bucket of a range that
 * starts and ends inside blocks, each column as rollups.ts's own bucketCount / bucketValue read
 * the stored bytes; a column of one bucket standing for all of them; a column of the wrong length
 * refused with an error that says so, never read as other buckets' values.
 */
import { expect } from 'chai';
import { bucketCount, bucketValue, insertSnapshots, readBuckets, runRollups, type SampleSelector } from '../src/index.js';
import { testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2031, 10, 3, 0, 0, 0);

describe('rollup rows decoded by readBuckets', function () {
  this.timeout(120_000);
  let t: TestSchema;
  const metric = 'perfwatch_load_average_1m';
  const sel: SampleSelector = { metric, match: (_m, l) => l.host === 'd' };

  before(async () => {
    t = await testSchema({ migrate: true });
    await insertSnapshots(t.pool, simulate(fixtureSnapshot('small', { compact: true }), 'd', T0, 3 * 60 * 4, { intervalMs: MIN / 4, seed: 9 }));
    await runRollups(t.pool, { tier: '1m', now: T0 + 3 * HOUR + 10 * MIN });
  });
  after(async () => {
    await t.drop();
  });

  /** The stored rows of the metric's series, ordered by block start. */
  async function stored() {
    const r = await t.pool.query<{ ms: number; n: Buffer; v1: Buffer; v2: Buffer; v3: Buffer }>(
      `SELECT (extract(epoch FROM r.start) * 1000)::float8 AS ms, r.n, r.v1, r.v2, r.v3 FROM rollups_1m r JOIN series s ON s.id = r.series_id WHERE s.metric = $1 ORDER BY r.start`,
      [metric],
    );
    return r.rows;
  }

  it('a range from inside one block to inside another: each bucket as the stored bytes say, those not needed left out', async () => {
    const rows = await stored();
    expect(rows.length).to.equal(3);
    const from = T0 + 17 * MIN;
    const to = T0 + 2 * HOUR + 41 * MIN;
    const need = (start: number) => ((start - T0) / MIN) % 7 !== 3;
    const want = { start: [] as number[], n: [] as number[], v1: [] as number[], v2: [] as number[], v3: [] as number[] };
    for (const r of rows) {
      for (let i = 0; i < 60; i++) {
        const start = r.ms + i * MIN;
        if (start < from || start >= to || !need(start) || bucketCount(r.n, i) === 0) continue;
        want.start.push(start);
        want.n.push(bucketCount(r.n, i));
        want.v1.push(bucketValue(r.v1, i));
        want.v2.push(bucketValue(r.v2, i));
        want.v3.push(bucketValue(r.v3, i));
      }
    }
    expect(want.start.length).to.be.greaterThan(100);
    const [b] = await readBuckets(t.pool, sel, from, to, '1m', { v1: true, v2: true, v3: true }, need);
    expect({ start: b!.start, n: b!.n, v1: b!.v1, v2: b!.v2, v3: b!.v3 }).to.deep.equal(want);
    // columns not asked for read NaN
    const [only] = await readBuckets(t.pool, sel, from, to, '1m', { v2: true }, need);
    expect(only!.v2).to.deep.equal(want.v2);
    expect(only!.v1.every(Number.isNaN) && only!.v3.every(Number.isNaN)).to.equal(true);
  });

  it('a column of one bucket stands for all of them; a column of another length is an error that says so', async () => {
    const block = T0 + HOUR;
    const where = `series_id = (SELECT id FROM series WHERE metric = '${metric}') AND start = to_timestamp(${block / 1000})`;
    await t.pool.query(`UPDATE rollups_1m SET n = '\\x0004'::bytea, v1 = float8send(42.5) WHERE ${where}`);
    const [b] = await readBuckets(t.pool, sel, block, block + HOUR, '1m', { v1: true });
    expect(b!.start).to.deep.equal(Array.from({ length: 60 }, (_, i) => block + i * MIN));
    expect(new Set(b!.n)).to.deep.equal(new Set([4]));
    expect(new Set(b!.v1)).to.deep.equal(new Set([42.5]));

    await t.pool.query(`UPDATE rollups_1m SET v1 = '\\x0102030405'::bytea WHERE ${where}`);
    const err = await readBuckets(t.pool, sel, block, block + HOUR, '1m', { v1: true }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.equal("a rollup row's value column has 5 bytes (expected 8 or 480)");
    await t.pool.query(`UPDATE rollups_1m SET v1 = decode(repeat('00', 488), 'hex') WHERE ${where}`);
    const long = await readBuckets(t.pool, sel, block, block + HOUR, '1m', { v1: true }).catch((e: unknown) => e);
    expect((long as Error).message).to.match(/^a rollup row's value column has (too many|488) bytes \(expected 8 or 480\)$/);
  });
});
