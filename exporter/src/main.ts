#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --heap-growing-percent=10
// The flags keep RSS under the 80 MB target (measured in bench/exporter.ts): a scrape makes about
// 1 MB of short-lived garbage, and with V8's defaults (16 MB semi-spaces, old space allowed to grow
// to 4x the live ~12 MB before a full GC) and glibc's per-thread malloc arenas the process sat at
// 95-110 MB while holding little more than 12 MB of live data. These cost no measurable CPU per scrape.
// first: before anything loads pg (see there)
import './pg-stream.js';
import { loadConfig } from './config.js';
import { ConfigError, errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { startExporter } from './app.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`perfwatch-exporter: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  process.on('unhandledRejection', (err) => log.error({ err: errorMessage(err) }, 'unhandled rejection'));

  let exporter;
  try {
    exporter = await startExporter(config, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`perfwatch-exporter: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    log.fatal({ err: errorMessage(err) }, 'exporter failed to start');
    process.exit(1);
  }
  log.info({ url: `${exporter.url}/metrics`, collectors: exporter.pipeline.collectorNames, intervalSeconds: config.intervalSeconds }, `exporter listening on ${exporter.url}/metrics`);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    exporter
      .close()
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
