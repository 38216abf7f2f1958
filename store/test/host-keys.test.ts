/**
 * The schema keeps distribution by host possible (#16, docs/scaling.md "Past one database"): on a
 * migrated schema, every table with a host_id column has a primary key that starts with host_id,
 * every unique constraint or index of it holds host_id, and it references hosts. The tables
 * without host_id are the ones docs/scaling.md lists as reference or coordinator-only tables, so a
 * new table must be placed there (or keyed by host) for this test to pass.
 */
import { expect } from 'chai';
import { testSchema, type TestSchema } from './helpers.js';

/** docs/scaling.md: the tables that are not per host, and where they go on Citus. */
const NOT_PER_HOST = {
  reference: ['hosts'],
  coordinator: ['schema_migrations', 'retention_policies', 'retention_runs', 'users', 'auth_sessions', 'auth_refresh_tokens', 'auth_revoked_tokens', 'api_tokens', 'auth_login_failures', 'api_settings'],
};

describe('every per-host table is keyed by host_id', function () {
  this.timeout(60_000);
  let t: TestSchema;

  before(async () => {
    t = await testSchema({ migrate: true, prefix: 'keys' });
  });

  it('primary key led by host_id, unique keys holding it, a reference to hosts; the rest listed', async () => {
    // Partitions inherit from their parent: only the parents (and plain tables) are looked at.
    const tables = await t.pool.query<{ name: string; has_host: boolean }>(
      `SELECT c.relname AS name, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'host_id' AND NOT a.attisdropped) AS has_host
         FROM pg_class c
        WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY 1`,
      [t.schema],
    );
    const perHost = tables.rows.filter((r) => r.has_host).map((r) => r.name);
    const others = tables.rows.filter((r) => !r.has_host).map((r) => r.name);
    expect(perHost).to.deep.equal(['gap_watermarks', 'rollup_watermarks', 'rollups_1h', 'rollups_1m', 'series', 'snapshot_gaps', 'snapshot_shapes', 'snapshots']);
    expect(others.sort()).to.deep.equal([...NOT_PER_HOST.reference, ...NOT_PER_HOST.coordinator].sort());

    for (const table of perHost) {
      const keys = await t.pool.query<{ kind: string; cols: string[] }>(
        `SELECT CASE WHEN i.indisprimary THEN 'primary' ELSE 'unique' END AS kind,
                array_agg(a.attname::text ORDER BY k.n) AS cols
           FROM pg_index i
           JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass AND i.indisunique
          GROUP BY i.indexrelid, i.indisprimary`,
        [t.schema, table],
      );
      const primary = keys.rows.find((k) => k.kind === 'primary');
      expect(primary?.cols[0], `${table}: primary key led by host_id`).to.equal('host_id');
      for (const k of keys.rows) expect(k.cols, `${table}: unique key ${k.cols.join(', ')} holds host_id`).to.include('host_id');
      const fk = await t.pool.query(
        `SELECT 1 FROM pg_constraint WHERE conrelid = format('%I.%I', $1::text, $2::text)::regclass AND contype = 'f' AND confrelid = format('%I.hosts', $1::text)::regclass`,
        [t.schema, table],
      );
      // snapshots' shape and the rollups' series are found by (host_id, id) without a foreign key
      // (one would lock the parent row for every insert); the host is always referenced.
      expect(fk.rowCount, `${table} references hosts`).to.equal(1);
    }
  });
});
