/**
 * Wires config -> collectors -> pipeline -> sampler -> /metrics. main.ts runs it; tests start
 * it in-process on fixture trees with port 0.
 */
import { readBuildInfo } from '@perfwatch/store/env';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExporterConfig } from './config.js';
import type { Logger } from './log.js';
import { MetricsRenderer } from './metrics.js';
import { Sampler } from './sampler.js';
import { createExporterServer } from './server.js';
import { loadWebConfig } from './webconfig.js';
import { SnapshotPipeline } from './snapshot.js';
import { COLLECTORS, selectCollectors } from './collectors/registry.js';
import type { CollectorDefinition } from './collectors/types.js';
import { ConfigError, errorMessage } from './errors.js';
import type { RunningWriter } from './writer.js';

/** Version from package.json; revision from build-info.json, written at every build. */
export function buildInfo() {
  return readBuildInfo(new URL('../', import.meta.url));
}

export interface Exporter {
  sampler: Sampler;
  /** the database writer, when DATABASE_URL is set. */
  db: RunningWriter | undefined;
  renderer: MetricsRenderer;
  pipeline: SnapshotPipeline;
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startExporter(
  config: ExporterConfig,
  log: Logger,
  opts: { collectors?: readonly CollectorDefinition[]; processMetrics?: boolean } = {},
): Promise<Exporter> {
  const defs = selectCollectors(config.collectors, opts.collectors ?? COLLECTORS);
  // A missing kernel file only makes its metrics absent, so a wrong root would fail quietly: say it.
  if (!existsSync(join(config.procRoot, 'stat'))) {
    log.warn({ procRoot: config.procRoot }, `PERFWATCH_PROC_ROOT=${config.procRoot} has no "stat" file: is procfs mounted there? Most metrics will be absent`);
  }
  const pipeline = new SnapshotPipeline(config, defs, log);
  const sampler = new Sampler(pipeline, config.intervalSeconds * 1000, log.child({ component: 'sampler' }));
  const renderer = new MetricsRenderer(buildInfo(), opts);
  // read before listening: a bad web config must not leave /metrics open without TLS or auth
  const web = config.webConfigFile === undefined ? undefined : loadWebConfig(config.webConfigFile);
  const server = createExporterServer({ sampler, renderer, log: log.child({ component: 'http' }), web });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.listenHost, () => resolve());
  });
  // History: loaded only when a database is configured, so a plain exporter never loads pg.
  let db: RunningWriter | undefined;
  if (config.databaseUrl) {
    const [{ startSnapshotWriter, writerFamilies }, { storeOptionsOf }] = await Promise.all([import('./writer.js'), import('@perfwatch/store')]);
    try {
      db = await startSnapshotWriter(
        {
          store: storeOptionsOf({ ...config, databaseUrl: config.databaseUrl }, 'perfwatch-exporter'),
          migrate: config.dbMigrate,
          migrateUrl: config.dbMigrateUrl,
          spoolDir: join(config.dataDir, 'spool'),
          spoolMaxBytes: config.spoolMaxBytes,
          writer: { batchSize: config.writerBatchSize, flushIntervalMs: config.writerFlushSeconds * 1000 },
        },
        log.child({ component: 'writer' }),
      );
    } catch (err) {
      server.close();
      // The database being down is not an error here (the writer spools); an unusable data directory is.
      throw new ConfigError('PERFWATCH_DATA_DIR', `cannot use ${config.dataDir} for the spool: ${errorMessage(err)}; point it at a writable directory`);
    }
    const writer = db.writer;
    sampler.onSnapshot((snap) => writer.enqueue(snap));
    renderer.addStatic(writerFamilies(writer));
  }
  if (config.backgroundCollection) sampler.start();
  const addr = server.address() as AddressInfo;
  const host = addr.address === '0.0.0.0' || addr.address === '::' ? 'localhost' : addr.address;
  return {
    sampler,
    db,
    renderer,
    pipeline,
    server,
    url: `${web?.tls ? 'https' : 'http'}://${host}:${addr.port}`,
    async close() {
      await sampler.stop();
      // writes or spools what is still queued
      await db?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await pipeline.close();
      renderer.close();
    },
  };
}
