/**
 * Reading snapshots back from the compact storage format: latestSnapshot and snapshotsPage return
 * exactly what the exporter produced; `s.data` still works in SQL; rows written as JSONB before
 * migration 0003 read the same; strings that look like SQL are plain values.
 */
import { expect } from 'chai';
import { insertSnapshots, latestSnapshot, listHosts, snapshotsPage, StoreError, type Snapshot } from '../src/index.js';
import { loadShapes } from '../src/snapshots.js';
import { testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const T0 = Date.UTC(2031, 4, 6, 23, 50, 0);
const INJECTION = `x'); DROP TABLE snapshots; --`;

describe('reading snapshots back', function () {
  this.timeout(30_000);
  let t: TestSchema;
  let small: Snapshot[];

  before(async () => {
    t = await testSchema({ migrate: true });
    small = simulate(fixtureSnapshot('small'), 'web01', T0, 300);
    for (let i = 0; i < small.length; i += 100) await insertSnapshots(t.pool, small.slice(i, i + 100));
  });
  after(async () => {
    await t.drop();
  });

  it('latestSnapshot returns exactly the object the exporter produced (keys in order, every number)', async () => {
    const got = await latestSnapshot(t.pool, 'web01');
    expect(got).to.deep.equal(small.at(-1));
    expect(JSON.stringify(got)).to.equal(JSON.stringify(small.at(-1)));
  });

  it('the 64-CPU fixture and a snapshot with perf counters and nulls round-trip too', async () => {
    const large = simulate(fixtureSnapshot('large'), 'big01', T0, 3);
    const perf: Snapshot = {
      ...fixtureSnapshot('small', { compact: true }),
      host: 'perf01',
      ts: T0,
      perf: { ev: ['cpu-cycles', 'task-clock'], c: { '0': [null, 1.000001], '1': [123456789012, 0.5] }, r: { '0': [null, 1], '1': [0.5, 1] }, un: { 'cpu-cycles': 'not supported' } },
    };
    await insertSnapshots(t.pool, [...large, perf]);
    expect(await latestSnapshot(t.pool, 'big01')).to.deep.equal(large[2]);
    expect(JSON.stringify(await latestSnapshot(t.pool, 'perf01'))).to.equal(JSON.stringify(perf));
  });

  it('s.data still returns the snapshot in SQL (as JSONB)', async () => {
    const r = await t.pool.query(`SELECT s.data FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = 'web01' ORDER BY s.ts LIMIT 3`);
    expect(r.rows.map((x) => x.data)).to.deep.equal(small.slice(0, 3));
    const part = await t.pool.query(`SELECT s.data -> 'load' -> 'l' ->> 0 AS l1 FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = 'web01' ORDER BY s.ts LIMIT 1`);
    expect(Number(part.rows[0].l1)).to.equal(small[0]!.load!.l[0]);
  });

  it('snapshotsPage pages a range in order with a cursor; every snapshot exactly once', async () => {
    const got: Snapshot[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: Awaited<ReturnType<typeof snapshotsPage>> = await snapshotsPage(t.pool, { host: 'web01', from: T0 + 10 * 5_000, to: T0 + 260 * 5_000, cursor, limit: 64 });
      got.push(...p.snapshots);
      cursor = p.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).to.equal(4);
    expect(got).to.deep.equal(small.slice(10, 260));
  });

  it('snapshotsPage refuses a forged cursor and a bad limit', async () => {
    for (const q of [
      { cursor: 'not-a-cursor' },
      { cursor: Buffer.from(JSON.stringify({ after: "1; DROP TABLE snapshots" })).toString('base64url') },
      { limit: 0 },
      { limit: 5000 },
    ]) {
      const err = await snapshotsPage(t.pool, { host: 'web01', from: T0, to: T0 + 1, ...q }).catch((e: unknown) => e);
      expect(err, JSON.stringify(q)).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('INVALID_ARGUMENT');
    }
  });

  it('host names that look like SQL are plain values', async () => {
    expect(await latestSnapshot(t.pool, INJECTION)).to.equal(null);
    expect((await snapshotsPage(t.pool, { host: INJECTION, from: T0, to: T0 + 86_400_000 })).snapshots).to.deep.equal([]);
    const s = { ...fixtureSnapshot('small', { compact: true }), host: INJECTION, ts: T0 };
    await insertSnapshots(t.pool, [s]);
    expect(await latestSnapshot(t.pool, INJECTION)).to.deep.equal(s);
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM snapshots`)).rows[0].n).to.be.greaterThan(300);
  });

  it('listHosts: every host with its first and last snapshot', async () => {
    const hosts = await listHosts(t.pool);
    const web = hosts.find((h) => h.name === 'web01')!;
    expect(web.firstSeen!.getTime()).to.equal(T0);
    expect(web.lastSeen!.getTime()).to.equal(small.at(-1)!.ts);
    expect(hosts.map((h) => h.name)).to.include.members(['big01', 'perf01', INJECTION]);
  });

  it('a row stored as JSONB before migration 0003 reads the same', async () => {
    const legacy = { ...fixtureSnapshot('small', { compact: true }), host: 'old01', ts: T0 + 1_000 };
    await insertSnapshots(t.pool, [{ ...legacy, ts: T0 }]);
    await t.pool.query(`INSERT INTO snapshots (host_id, ts, data_v1) SELECT id, $1::timestamptz, $2::jsonb FROM hosts WHERE name = 'old01'`, [
      new Date(legacy.ts).toISOString(),
      JSON.stringify(legacy),
    ]);
    await t.pool.query(`UPDATE hosts SET last_seen = $1 WHERE name = 'old01'`, [new Date(legacy.ts)]);
    expect(await latestSnapshot(t.pool, 'old01')).to.deep.equal(legacy);
    const page = await snapshotsPage(t.pool, { host: 'old01', from: T0, to: T0 + 5_000 });
    expect(page.snapshots.map((s) => s.ts)).to.deep.equal([T0, T0 + 1_000]);
    const r = await t.pool.query(`SELECT s.data FROM snapshots s WHERE s.ts = $1`, [new Date(legacy.ts)]);
    expect(r.rows[0].data).to.deep.equal(legacy);
  });

  it('shapes are per host: two hosts of the same make have a shape each, stored once', async () => {
    const a = simulate(fixtureSnapshot('small', { compact: true }), 'twin-a', T0, 50);
    const b = simulate(fixtureSnapshot('small', { compact: true }), 'twin-b', T0, 50);
    await insertSnapshots(t.pool, [...a, ...b]);
    await insertSnapshots(t.pool, [...a, ...b]);
    const r = await t.pool.query(`SELECT h.name, count(*)::int AS n FROM snapshot_shapes s JOIN hosts h ON h.id = s.host_id WHERE h.name LIKE 'twin-%' GROUP BY 1 ORDER BY 1`);
    expect(r.rows).to.deep.equal([{ name: 'twin-a', n: 1 }, { name: 'twin-b', n: 1 }]);
  });

  it("hosts' shapes share their plans' entries (frozen); a metric's entries are the plan's, in order; a host with a disk more shares the rest", async () => {
    const base = fixtureSnapshot('small', { compact: true });
    const extra: Snapshot = { ...base, disk: { ...base.disk, zz9: (Object.values(base.disk!)[0] as number[]).map((x) => x + 1) } } as Snapshot;
    await insertSnapshots(t.pool, [
      ...simulate(base, 'plan-a', T0, 2), ...simulate(base, 'plan-b', T0, 2), ...simulate(extra, 'plan-c', T0, 2),
    ]);
    const r = await t.pool.query<{ name: string; id: number }>(`SELECT h.name, s.id FROM snapshot_shapes s JOIN hosts h ON h.id = s.host_id WHERE h.name LIKE 'plan-%' ORDER BY 1`);
    expect(r.rows.map((x) => x.name)).to.deep.equal(['plan-a', 'plan-b', 'plan-c']);
    const shapes = await loadShapes(t.pool, r.rows.map((x) => x.id));
    const [a, b, c] = r.rows.map((x) => shapes.get(x.id)!);
    // Two hosts of the same make: their shapes differ (the host's name), their plans' entries are the same objects
    expect(a!.frags).to.not.deep.equal(b!.frags);
    expect(a!.plan().length).to.be.greaterThan(100);
    expect(b!.plan()).to.have.ordered.members(a!.plan());
    expect(b!.plan().every((e, i) => e === a!.plan()[i])).to.equal(true);
    expect(a!.plan().every((e) => Object.isFrozen(e) && Object.isFrozen(e.labels))).to.equal(true);
    // The plan still says what the snapshot holds: the extra disk's samples in c's alone
    const disks = (s: typeof a) => [...new Set(s!.plan().filter((e) => e.labels.device !== undefined).map((e) => e.labels.device))].sort();
    expect(disks(c)).to.deep.equal([...disks(a), 'zz9'].sort());
    // c's entries for the CPU (before the disks, same slots) are a's; its disk entries after the new one are not
    const cpuA = a!.planOf('perfwatch_cpu_seconds_total');
    expect(cpuA.length).to.be.greaterThan(0);
    expect(c!.planOf('perfwatch_cpu_seconds_total').every((e, i) => e === cpuA[i])).to.equal(true);
    // planOf(m): the plan's entries of m, in the plan's order; none for an unknown metric
    for (const s of [a, c]) {
      for (const m of new Set(s!.plan().map((e) => e.metric.name))) expect(s!.planOf(m)).to.deep.equal(s!.plan().filter((e) => e.metric.name === m));
      expect(s!.planOf('perfwatch_no_such_metric')).to.deep.equal([]);
    }
  });
});
