/**
 * The core path (migrate from empty, write, replay, partitions on demand) on both servers
 * PerfWatch supports: the test server (PostgreSQL 15 on the service machines, or
 * TEST_DATABASE_URL) and the embedded PostgreSQL 17 that `npm start` runs.
 */
import { expect } from 'chai';
import { insertSnapshots, latestVersion, listPartitions, migrate, schemaVersion, serverVersion } from '../src/index.js';
import { fakeSnapshot, startTestEmbedded, testServer, testSchema } from './helpers.js';

const T0 = Date.UTC(2031, 8, 9, 23, 59, 0);

const targets: { name: string; url: () => Promise<string>; major?: number }[] = [
  { name: 'the test server (PostgreSQL 15 on the service machines)', url: async () => (await testServer()).url },
  { name: 'the embedded PostgreSQL 17', url: async () => (await startTestEmbedded()).url, major: 17 },
];

for (const target of targets) {
  describe(`core storage on ${target.name}`, function () {
    this.timeout(60_000);

    it('migrates from empty, writes a batch across midnight, replays it without duplicates', async function () {
      const url = await target.url();
      const t = await testSchema({ url });
      try {
        const version = await serverVersion(t.pool);
        const major = Math.floor(version / 10_000);
        if (target.major) expect(major).to.equal(target.major);
        else if ((await testServer()).kind === 'service') expect(major).to.equal(15);
        this.test!.title += ` [server ${major}]`;

        expect((await migrate(t.pool)).to).to.equal(latestVersion());
        expect(await schemaVersion(t.pool)).to.equal(latestVersion());

        // 24 snapshots at 5 s straddling midnight UTC: two partitions, made on demand.
        const batch = Array.from({ length: 24 }, (_, i) => fakeSnapshot('core', T0 + i * 5_000, i));
        expect(await insertSnapshots(t.pool, batch)).to.deep.equal({ inserted: 24, duplicates: 0 });
        expect(await insertSnapshots(t.pool, batch)).to.deep.equal({ inserted: 0, duplicates: 24 });
        const names = (await listPartitions(t.pool)).map((p) => p.name);
        expect(names).to.include.members(['snapshots_20310909', 'snapshots_20310910']);
        const perPart = await t.pool.query<{ p: string; n: number }>(
          `SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM snapshots GROUP BY 1 ORDER BY 1`,
        );
        expect(perPart.rows.map((r) => [r.p.replace(/^.*\./, ''), r.n])).to.deep.equal([
          ['snapshots_20310909', 12],
          ['snapshots_20310910', 12],
        ]);
        const host = await t.pool.query('SELECT first_seen, last_seen FROM hosts');
        expect(host.rows[0].last_seen.getTime()).to.equal(T0 + 23 * 5_000);
        const back = await t.pool.query(`SELECT s.data FROM snapshots s ORDER BY s.ts LIMIT 1`);
        expect(back.rows[0].data).to.deep.equal(batch[0]);
      } finally {
        await t.drop();
      }
    });
  });
}
