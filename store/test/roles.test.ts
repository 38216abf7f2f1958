/**
 * The exporter role of docs/storage.md, run as written: an exporter may register and write its own
 * host only, and cannot read snapshot data, delete, or touch another exporter's host.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { checkSchemaVersion, createPool, ensurePartitions, insertSnapshots, migrate, StoreError } from '../src/index.js';
import { ROOT } from './child.js';
import { fakeSnapshot, testSchema, uniqueName, type TestSchema } from './helpers.js';

/** The SQL block of docs/storage.md between the exporter-role markers. */
export function docsRoleSql(): string {
  const md = readFileSync(`${ROOT}docs/storage.md`, 'utf8');
  const m = /<!-- exporter-role:begin[^>]*-->\s*```sql\n([\s\S]*?)```\s*<!-- exporter-role:end -->/.exec(md);
  if (!m) throw new Error('docs/storage.md has no exporter-role SQL block');
  return m[1]!;
}

function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = 'change-me';
  return u.toString();
}

async function pgError(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string; pgCode?: string }).pgCode ?? (err as { code?: string }).code;
  }
}

describe('exporter database role (docs/storage.md)', function () {
  this.timeout(30_000);
  let t: TestSchema;
  const group = uniqueName('pw_exporters');
  const web01 = uniqueName('pw_web01');
  const web02 = uniqueName('pw_web02');
  let p1: pg.Pool;
  let p2: pg.Pool;

  before(async () => {
    t = await testSchema({ migrate: true });
    const sql = docsRoleSql()
      .replaceAll('perfwatch_exporter', group)
      .replaceAll('exporter_web01', web01)
      .replace(/\bperfwatch\b/g, t.schema);
    await t.pool.query(sql);
    await t.pool.query(`CREATE ROLE ${web02} LOGIN PASSWORD 'change-me' IN ROLE ${group}`);
    p1 = createPool({ databaseUrl: asRole(t.url, web01), schema: t.schema });
    p2 = createPool({ databaseUrl: asRole(t.url, web02), schema: t.schema });
  });

  after(async () => {
    await p1?.end();
    await p2?.end();
    await t.drop();
    const admin = new pg.Client(t.url);
    await admin.connect();
    for (const r of [web01, web02, group]) await admin.query(`DROP ROLE IF EXISTS ${r}`);
    await admin.end();
  });

  it('registers its host and writes its snapshots (partitions on demand included)', async () => {
    expect(await checkSchemaVersion(p1)).to.be.greaterThan(0);
    // migrate() on a current schema needs no privilege: an exporter may leave migrations on.
    expect((await migrate(p1)).applied).to.deep.equal([]);
    const ts = Date.UTC(2033, 0, 2, 3);
    expect(await insertSnapshots(p1, [fakeSnapshot('web01', ts), fakeSnapshot('web01', ts + 5_000)])).to.deep.equal({ inserted: 2, duplicates: 0 });
    expect(await insertSnapshots(p1, [fakeSnapshot('web01', ts)])).to.deep.equal({ inserted: 0, duplicates: 1 });
    expect(await ensurePartitions(p1, Date.UTC(2033, 5, 1), 2)).to.equal(2);
    const host = await t.pool.query(`SELECT owner_role, last_seen FROM hosts WHERE name = 'web01'`);
    expect(host.rows[0].owner_role).to.equal(web01);
    expect(host.rows[0].last_seen.getTime()).to.equal(ts + 5_000);
  });

  it('a batch of late snapshots moves its rollup watermark back', async () => {
    const id = (await t.pool.query(`SELECT id FROM hosts WHERE name = 'web01'`)).rows[0].id as number;
    await t.pool.query(`INSERT INTO rollup_watermarks (host_id, tier, watermark) VALUES ($1, '1m', $2)`, [id, new Date(Date.UTC(2033, 0, 2, 5))]);
    await insertSnapshots(p1, [fakeSnapshot('web01', Date.UTC(2033, 0, 2, 4))]);
    const w = await t.pool.query(`SELECT watermark FROM rollup_watermarks WHERE host_id = $1`, [id]);
    expect(w.rows[0].watermark.getTime()).to.equal(Date.UTC(2033, 0, 2, 4));
  });

  it('cannot read snapshot data, delete, change labels, or create tables', async () => {
    expect(await pgError(p1.query('SELECT s.data FROM snapshots s'))).to.equal('42501');
    expect(await pgError(p1.query('SELECT vals FROM snapshots'))).to.equal('42501');
    expect(await pgError(p1.query('SELECT frags FROM snapshot_shapes'))).to.equal('42501');
    expect(await pgError(p1.query('SELECT * FROM rollups_1m'))).to.equal('42501');
    expect(await pgError(p1.query('DELETE FROM rollup_watermarks'))).to.equal('42501');
    expect(await pgError(p1.query('DELETE FROM snapshots'))).to.equal('42501');
    expect(await pgError(p1.query(`UPDATE hosts SET labels = '{"x": 1}'`))).to.equal('42501');
    expect(await pgError(p1.query(`INSERT INTO hosts (name, owner_role) VALUES ('sneaky', 'postgres')`))).to.equal('42501');
    expect(await pgError(p1.query('CREATE TABLE mine (x int)'))).to.equal('42501');
  });

  it("cannot write another exporter's host, nor see it", async () => {
    await insertSnapshots(p2, [fakeSnapshot('web02', Date.UTC(2033, 0, 2))]);
    const err = await insertSnapshots(p1, [fakeSnapshot('web02', Date.UTC(2033, 0, 3))]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StoreError);
    expect((err as StoreError).code).to.equal('HOST_NOT_WRITABLE');
    const seen = await p1.query('SELECT name FROM hosts ORDER BY name');
    expect(seen.rows).to.deep.equal([{ name: 'web01' }]);
    // Not even by naming the other host's id directly.
    const id = (await t.pool.query(`SELECT id FROM hosts WHERE name = 'web02'`)).rows[0].id as number;
    expect(await pgError(p1.query(`INSERT INTO snapshots (host_id, ts, shape_id, vals) VALUES ($1, now(), 1, '\\x00')`, [id]))).to.equal('42501');
    expect(await pgError(p1.query(`INSERT INTO snapshot_shapes (host_id, hash, frags) VALUES ($1, 'x', '{"{}"}')`, [id]))).to.equal('42501');
    const shapes = await p1.query('SELECT host_id FROM snapshot_shapes');
    expect(shapes.rows.every((r) => r.host_id !== id)).to.equal(true);
    const n = await t.pool.query(`SELECT count(*)::int AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = 'web02'`);
    expect(n.rows[0].n).to.equal(1);
  });
});
