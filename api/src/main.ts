#!/usr/bin/env node
/**
 * The api process: configuration from the environment, then startApi (pool, migrations, first
 * administrator, HTTP server), and a graceful shutdown on SIGTERM / SIGINT.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from './config.js';
import { ConfigError, errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { startApi } from './service.js';
import { UI_DIR } from './ui.js';

function configFailure(err: ConfigError): never {
  process.stderr.write(`perfwatch-api: configuration error: ${err.message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) configFailure(err);
    throw err;
  }
  const log = createLogger(config.logLevel);
  // Background failures are logged, never allowed to take the process down silently.
  process.on('unhandledRejection', (err) => log.error({ err: errorMessage(err) }, 'unhandled rejection'));
  for (const w of config.warnings) log.warn(`SECURITY WARNING: ${w}`);

  let api;
  try {
    api = await startApi(config, log, { serveUi: true, jobs: true });
  } catch (err) {
    if (err instanceof ConfigError) configFailure(err);
    log.fatal({ err: errorMessage(err) }, 'api failed to start');
    process.exit(1);
  }
  log.info({ url: api.url, schemaVersion: api.prepared.schemaVersion }, `api listening on ${api.url} (ready: ${api.url}/ready)`);
  if (api.uiUrl) {
    log.info({ url: api.uiUrl }, `admin UI on ${api.uiUrl}/`);
    if (!existsSync(join(UI_DIR, 'index.html'))) log.warn(`the admin UI is not built (${UI_DIR} has no index.html): run npm run build`);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    api
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
