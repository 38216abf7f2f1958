/**
 * A one-series read of one host (a panel of a host dashboard) is planned once, not at each read:
 * its host lookup and rollup statements bind one value where a list may go (samples.ts anyOf),
 * and a short rollup read names its day partitions itself (tierPartitions), so PostgreSQL settles
 * on their generic plans after five custom ones (pg_prepared_statements on the pool's one
 * connection says how many of each it made). A read of several series and of several hosts,
 * through `= ANY(...)`, answers the same buckets for each series; a partition dropped after the
 * list was read fails only the named read, which reads the parent instead; a long read (more
 * than three partitions) reads the parent.
 */
import { expect } from 'chai';
import { insertSnapshots, readBuckets, runRollups, type BucketSeries, type SampleSelector } from '../src/index.js';
import { partitionsLoaded, tierPartitions } from '../src/samples.js';
import { TIER_SPECS } from '../src/rollups.js';
import { testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2031, 10, 1, 0, 0, 0);

describe('the plans of a one-series rollup read', function () {
  this.timeout(120_000);
  let t: TestSchema;

  before(async () => {
    // one connection: the prepared statements asked about are that connection's
    t = await testSchema({ migrate: true, pool: { poolMax: 1 } });
    for (const host of ['p', 'q']) {
      await insertSnapshots(t.pool, simulate(fixtureSnapshot('small', { compact: true }), host, T0, 150, { intervalMs: MIN, seed: host === 'p' ? 5 : 6 }));
    }
    await runRollups(t.pool, { tier: '1m', now: T0 + 2 * HOUR + 10 * MIN });
    await partitionsLoaded(t.pool);
  });
  after(async () => {
    await t.drop();
  });

  const metric = 'perfwatch_cpu_seconds_total';
  const sel = (hosts: string[], modes: string[]): SampleSelector => ({
    metric,
    hostNames: hosts,
    host: (h) => hosts.includes(h),
    match: (_, l) => hosts.includes(l.host ?? '') && l.cpu === '0' && modes.includes(l.mode ?? ''),
  });
  const byLabels = (bs: BucketSeries[]) => new Map(bs.map((b) => [`${b.labels.host} ${b.labels.mode}`, { start: b.start, n: b.n, v3: b.v3 }]));

  it('settles on generic plans for the host lookup and the rollup read', async () => {
    let first: BucketSeries[] | undefined;
    for (let i = 0; i < 8; i++) {
      const r = await readBuckets(t.pool, sel(['p'], ['user']), T0, T0 + 2 * HOUR, '1m', { v3: true });
      expect(r).to.have.length(1);
      expect(r[0]!.start).to.have.length(120);
      if (first) expect(byLabels(r)).to.deep.equal(byLabels(first));
      first ??= r;
    }
    const { rows } = await t.pool.query<{ statement: string; generic_plans: string; custom_plans: string }>(
      `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%FROM rollups_1m%' OR statement LIKE '%FROM hosts h WHERE%'`,
    );
    expect(rows).to.have.length(2);
    // the rollup read names its day's partition
    expect(rows.map((r) => /FROM (rollups_1m\w*)/.exec(r.statement)?.[1]).filter(Boolean)).to.deep.equal(['rollups_1m_20311101']);
    for (const r of rows) {
      // five custom plans to learn the cost, then the generic one for the other three reads
      expect({ generic: Number(r.generic_plans), custom: Number(r.custom_plans) }, r.statement.slice(0, 60)).to.deep.equal({ generic: 3, custom: 5 });
    }
  });

  it('a read of several series and hosts (= ANY) gives each series the buckets its own read gives', async () => {
    const all = byLabels(await readBuckets(t.pool, sel(['p', 'q'], ['user', 'system']), T0, T0 + 2 * HOUR, '1m', { v3: true }));
    expect([...all.keys()].sort()).to.deep.equal(['p system', 'p user', 'q system', 'q user']);
    for (const host of ['p', 'q']) {
      for (const mode of ['user', 'system']) {
        const one = byLabels(await readBuckets(t.pool, sel([host], [mode]), T0, T0 + 2 * HOUR, '1m', { v3: true }));
        expect(one.get(`${host} ${mode}`)!.start).to.have.length(120);
        expect(all.get(`${host} ${mode}`)).to.deep.equal(one.get(`${host} ${mode}`));
      }
    }
  });

  it('names at most three partitions, each one the list has; else the parent', async () => {
    const spec = TIER_SPECS['1m'];
    const day = 86_400_000;
    expect(tierPartitions(t.pool, spec, T0, T0 + 2 * HOUR)).to.deep.equal(['rollups_1m_20311101']);
    // the rollups made only the first day's partition; with the next two made and the list read again
    expect(tierPartitions(t.pool, spec, T0, T0 + day + HOUR)).to.equal(undefined);
    await t.pool.query(`SELECT ensure_rollup_partitions('1m', '2031-11-02'::date, 2)`);
    await partitionsLoaded(t.pool, true);
    expect(tierPartitions(t.pool, spec, T0 + HOUR, T0 + day + HOUR)).to.deep.equal(['rollups_1m_20311101', 'rollups_1m_20311102']);
    expect(tierPartitions(t.pool, spec, T0, T0 + 3 * day)).to.deep.equal(['rollups_1m_20311101', 'rollups_1m_20311102', 'rollups_1m_20311103']);
    // the list has the partitions the writes made: none 40 days before
    expect(tierPartitions(t.pool, spec, T0 - 40 * day, T0 - 39 * day)).to.equal(undefined);
    expect(tierPartitions(t.pool, spec, T0 - day, T0 + 3 * day)).to.equal(undefined);
  });
});

describe('a rollup read across a partition dropped after the list was read', function () {
  this.timeout(120_000);
  let t: TestSchema;
  // 150 minutes across midnight: two day partitions
  const T1 = Date.UTC(2031, 10, 1, 23, 0, 0);

  before(async () => {
    t = await testSchema({ migrate: true });
    await insertSnapshots(t.pool, simulate(fixtureSnapshot('small', { compact: true }), 'p', T1, 150, { intervalMs: MIN, seed: 7 }));
    await runRollups(t.pool, { tier: '1m', now: T1 + 2 * HOUR + 10 * MIN });
    await partitionsLoaded(t.pool);
  });
  after(async () => {
    await t.drop();
  });

  it('reads the parent instead, and answers what is left', async () => {
    const sel: SampleSelector = { metric: 'perfwatch_cpu_seconds_total', hostNames: ['p'], host: (h) => h === 'p', match: (_, l) => l.cpu === '0' && l.mode === 'user' };
    expect(tierPartitions(t.pool, TIER_SPECS['1m'], T1, T1 + 2 * HOUR)).to.deep.equal(['rollups_1m_20311101', 'rollups_1m_20311102']);
    const [before] = await readBuckets(t.pool, sel, T1, T1 + 2 * HOUR, '1m', { v3: true });
    expect(before!.start).to.have.length(120);
    await t.pool.query('DROP TABLE rollups_1m_20311102');
    const [after] = await readBuckets(t.pool, sel, T1, T1 + 2 * HOUR, '1m', { v3: true });
    // the first hour's blocks are left; the second hour was in the dropped partition (its raw
    // snapshots are not read again: the watermark says it was rolled up)
    const midnight = Date.UTC(2031, 10, 2);
    const kept = before!.start.filter((s) => s < midnight).length;
    expect(kept).to.equal(60);
    expect(after!.start).to.deep.equal(before!.start.slice(0, kept));
    expect(after!.v3).to.deep.equal(before!.v3.slice(0, kept));
    // the read found the partition gone and forgot the list; read again, it no longer has it
    await partitionsLoaded(t.pool);
    expect(tierPartitions(t.pool, TIER_SPECS['1m'], T1, T1 + 2 * HOUR)).to.equal(undefined);
  });
});
