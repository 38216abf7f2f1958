/**
 * Gaps in a host's history (gaps.ts): the threshold from the host's own interval, gaps found with
 * their true ends from a range that starts or ends inside them, open gaps, a host's first
 * snapshot not being one, hosts that do not exist, and bad arguments.
 */
import { expect } from 'chai';
import { insertSnapshots, snapshotGaps, StoreError, usualIntervalMs, type Snapshot } from '../src/index.js';
import { fakeSnapshot, testSchema, type TestSchema } from './helpers.js';

const S = 1000;
const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2031, 2, 3, 12, 0, 0);

function at(host: string, times: number[]): Snapshot[] {
  return times.map((ts, i) => fakeSnapshot(host, ts, i));
}

describe('gaps in history', function () {
  this.timeout(60_000);
  let t: TestSchema;

  before(async () => {
    t = await testSchema({ migrate: true });
    // "fast": every 5 s for 10 min, silent 2 min, every 5 s for 10 min more.
    const fast = [...Array.from({ length: 120 }, (_, i) => T0 + i * 5 * S), ...Array.from({ length: 120 }, (_, i) => T0 + 12 * MIN + i * 5 * S)];
    // "slow": every 60 s for an hour, one collection missing at minute 30 (a 2-minute spacing).
    const slow = Array.from({ length: 60 }, (_, i) => T0 + i * MIN).filter((ts) => ts !== T0 + 30 * MIN);
    await insertSnapshots(t.pool, [...at('fast', fast), ...at('slow', slow), ...at('single', [T0 + 5 * MIN])]);
  });
  after(() => t.drop());

  it("judges each host by its own interval (3 x, at least 30 s)", async () => {
    const ids = new Map((await t.pool.query<{ id: number; name: string }>('SELECT id, name FROM hosts')).rows.map((r) => [r.name, r.id]));
    expect(await usualIntervalMs(t.pool, ids.get('fast')!, T0 + HOUR)).to.equal(5 * S);
    expect(await usualIntervalMs(t.pool, ids.get('slow')!, T0 + 2 * HOUR)).to.equal(MIN);
    expect(await usualIntervalMs(t.pool, ids.get('single')!, T0 + HOUR)).to.equal(null);

    const gaps = await snapshotGaps(t.pool, { hosts: ['fast', 'slow'], from: T0, to: T0 + 22 * MIN, now: T0 + 22 * MIN });
    // fast: 30 s threshold, one 2-minute-5-second gap; slow: 180 s threshold, its 120 s spacing is not one.
    expect(gaps.map((g) => [g.host, g.from - T0, g.to - T0, g.open, g.minGapMs])).to.deep.equal([['fast', 10 * MIN - 5 * S, 12 * MIN, false, 30 * S]]);
  });

  it('reports a gap with its true ends from a range that starts or ends inside it', async () => {
    for (const [from, to] of [[T0 + 11 * MIN, T0 + 11 * MIN + 1], [T0, T0 + 11 * MIN], [T0 + 11 * MIN, T0 + 30 * MIN]]) {
      const gaps = await snapshotGaps(t.pool, { hosts: ['fast'], from: from!, to: to!, now: T0 + 22 * MIN });
      expect(gaps.map((g) => [g.from - T0, g.to - T0]), `${from! - T0}..${to! - T0}`).to.deep.include([10 * MIN - 5 * S, 12 * MIN]);
    }
    // Entirely before or after it: none.
    expect(await snapshotGaps(t.pool, { hosts: ['fast'], from: T0, to: T0 + 9 * MIN, now: T0 + 22 * MIN })).to.deep.equal([]);
  });

  it('an explicit threshold; an open gap up to min(to, now); nothing before the first snapshot', async () => {
    expect(await snapshotGaps(t.pool, { hosts: ['fast'], from: T0, to: T0 + 22 * MIN, minGapMs: 3 * MIN, now: T0 + 22 * MIN })).to.deep.equal([]);
    const open = await snapshotGaps(t.pool, { hosts: ['fast'], from: T0 + 15 * MIN, to: T0 + 40 * MIN, now: T0 + 30 * MIN });
    expect(open.map((g) => [g.from - T0, g.to - T0, g.open])).to.deep.equal([[22 * MIN - 5 * S, 30 * MIN, true]]);
    // "single" wrote once at +5 min: before it nothing (it did not exist), after it an open gap.
    const single = await snapshotGaps(t.pool, { hosts: ['single'], from: T0 - MIN, to: T0 + 10 * MIN, now: T0 + 10 * MIN });
    expect(single.map((g) => [g.from - T0, g.to - T0, g.open, g.minGapMs, g.intervalMs])).to.deep.equal([[5 * MIN, 10 * MIN, true, 30 * S, null]]);
    // A range before a host's first snapshot: none.
    expect(await snapshotGaps(t.pool, { hosts: ['single'], from: T0 - 10 * MIN, to: T0, now: T0 + 10 * MIN })).to.deep.equal([]);
  });

  it('every host by name; unknown hosts are no hosts; at most limitPerHost each', async () => {
    const all = await snapshotGaps(t.pool, { hosts: 'all', from: T0, to: T0 + 2 * HOUR, now: T0 + 2 * HOUR });
    expect([...new Set(all.map((g) => g.host))]).to.deep.equal(['fast', 'single', 'slow']);
    expect(await snapshotGaps(t.pool, { hosts: ["' OR '1'='1", 'nobody'], from: T0, to: T0 + MIN })).to.deep.equal([]);
    const one = await snapshotGaps(t.pool, { hosts: ['fast'], from: T0, to: T0 + 2 * HOUR, now: T0 + 2 * HOUR, limitPerHost: 1 });
    expect(one).to.have.length(1);
  });

  it('refuses bad arguments with INVALID_ARGUMENT', async () => {
    for (const q of [
      { hosts: 'all' as const, from: T0, to: T0 },
      { hosts: 'all' as const, from: T0, to: T0 + MIN, minGapMs: 0 },
      { hosts: 'all' as const, from: T0, to: T0 + MIN, limitPerHost: 0 },
      { hosts: 'all' as const, from: Number.NaN, to: T0 },
      { hosts: [1] as unknown as string[], from: T0, to: T0 + MIN },
    ]) {
      const err = await snapshotGaps(t.pool, q).then(() => undefined, (e: unknown) => e);
      expect(err, JSON.stringify(q)).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('INVALID_ARGUMENT');
    }
  });
});
