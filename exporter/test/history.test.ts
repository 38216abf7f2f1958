/**
 * The exporter with DATABASE_URL set: every collected Snapshot reaches Postgres, exactly as
 * collected, and the writer's metrics are on /metrics.
 */
import { expect } from 'chai';
import { latestSnapshot } from '@perfwatch/store';
import { startExporter, type Exporter } from '../src/app.js';
import { ConfigError } from '../src/errors.js';
import { tempDir, testSchema, type TestSchema } from '../../store/test/helpers.js';
import { parseExposition, quietLogger, scrape, testConfig } from './helpers.js';

describe('exporter writing history', () => {
  let db: TestSchema;
  let data: { dir: string; remove(): void };
  let exporter: Exporter;

  before(async () => {
    db = await testSchema({ prefix: 'hist' });
    data = tempDir();
    exporter = await startExporter(
      testConfig({ DATABASE_URL: db.url, PERFWATCH_DB_SCHEMA: db.schema, PERFWATCH_DATA_DIR: data.dir, PERFWATCH_WRITER_FLUSH_SECONDS: '0.05', PERFWATCH_COLLECTORS: 'cpu,meminfo,loadavg' }, 'small'),
      process.env.DEBUG_HISTORY ? (await import('../src/log.js')).createLogger('debug') : quietLogger(),
      { processMetrics: false },
    );
  });

  after(async () => {
    await exporter?.close();
    await db?.drop();
    data?.remove();
  });

  it('writes each snapshot, exactly as collected, under the host name', async () => {
    // (host, ts) is unique and ts has millisecond resolution: keep two warm collections apart
    const first = await exporter.sampler.collectNow();
    await new Promise((r) => setTimeout(r, 5));
    const snaps = [first, await exporter.sampler.collectNow()];
    // the writer migrates and writes in the background: wait for both rows
    let rows: { name: string; ts: Date }[] = [];
    for (let i = 0; i < 200 && rows.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      rows = (await db.pool.query('SELECT h.name, s.ts FROM snapshots s JOIN hosts h ON h.id = s.host_id ORDER BY s.ts').catch(() => ({ rows: [] }))).rows;
    }
    expect(rows.map((r) => r.name)).to.deep.equal(['test-host', 'test-host']);
    expect(rows.map((r) => r.ts.getTime())).to.deep.equal(snaps.map((s) => s.ts));
    // what the database gives back is the object the exporter collected, bit for bit
    expect(await latestSnapshot(db.pool, 'test-host')).to.deep.equal(JSON.parse(JSON.stringify(snaps[1])));
  });

  it('serves perfwatch_writer_* metrics on /metrics', async () => {
    const m = parseExposition((await scrape(`${exporter.url}/metrics`)).body);
    expect(m.get('perfwatch_writer_written_total')).to.be.at.least(2);
  });

  it('refuses an unusable data directory (here on procfs, regression: Node\'s recursive mkdir spun forever) with a config error naming PERFWATCH_DATA_DIR', async () => {
    let err: unknown;
    try {
      await startExporter(testConfig({ DATABASE_URL: db.url, PERFWATCH_DB_SCHEMA: db.schema, PERFWATCH_DATA_DIR: '/proc/perfwatch-nope' }, 'small'), quietLogger(), { processMetrics: false });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.match(/^PERFWATCH_DATA_DIR: cannot use \/proc\/perfwatch-nope/);
  });
});
