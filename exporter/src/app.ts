/**
 * Wires config -> collectors -> pipeline -> sampler -> /metrics. main.ts runs it; tests start
 * it in-process on fixture trees with port 0.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExporterConfig } from './config.js';
import type { Logger } from './log.js';
import { MetricsRenderer } from './metrics.js';
import { Sampler } from './sampler.js';
import { createExporterServer } from './server.js';
import { SnapshotPipeline } from './snapshot.js';
import { COLLECTORS, selectCollectors } from './collectors/registry.js';
import type { CollectorDefinition } from './collectors/types.js';

/** Version from package.json; revision from build-info.json, which scripts/ensure.mjs writes at build. */
export function buildInfo(): { version: string; revision: string } {
  const read = (rel: string): Record<string, string> => {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  };
  return { version: read('../package.json').version ?? 'unknown', revision: read('../build-info.json').revision ?? '' };
}

export interface Exporter {
  sampler: Sampler;
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
  const server = createExporterServer({ sampler, renderer, log: log.child({ component: 'http' }) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.listenHost, () => resolve());
  });
  if (config.backgroundCollection) sampler.start();
  const addr = server.address() as AddressInfo;
  const host = addr.address === '0.0.0.0' || addr.address === '::' ? 'localhost' : addr.address;
  return {
    sampler,
    renderer,
    pipeline,
    server,
    url: `http://${host}:${addr.port}`,
    async close() {
      await sampler.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await pipeline.close();
    },
  };
}
