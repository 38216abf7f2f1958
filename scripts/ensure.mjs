#!/usr/bin/env node
// Installs what is missing and builds (idempotent; fast when nothing changed).
import { ensureBuilt } from './lib.mjs';

try {
  ensureBuilt();
} catch (err) {
  process.stderr.write(`[perfwatch] ${err.message}\n`);
  process.exit(1);
}
