// The Grafana plugin as one suite of the repository's `npm test` (scripts/test.mjs): installs the
// plugin's own dependencies when node_modules is missing or package.json / package-lock.json
// changed since (npm ci, a few minutes from an empty cache), then build, typecheck and lint (one
// test each) and jest (its own counts, from its --json report). Node builtins only, and the
// repository scripts' install stamp (scripts/lib.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installWhenChanged } from '../../scripts/lib.mjs';

export const PLUGIN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function npm(args, log) {
  log(`datasource-plugin: npm ${args.join(' ')}`);
  return spawnSync(NPM, args, { cwd: PLUGIN_DIR, stdio: 'inherit' }).status === 0;
}

/** npm ci when node_modules is missing or stale; false when that failed. */
export function ensurePluginInstalled(log) {
  return installWhenChanged(PLUGIN_DIR, ['package.json', 'package-lock.json'], () =>
    npm(['ci', '--no-audit', '--no-fund'], log)
  );
}

/** Runs the suite; resolves { passed, failed, skipped, failures? } (failures: what failed, as text). */
export async function runPluginSuite(log) {
  const r = { passed: 0, failed: 0, skipped: 0 };
  if (!ensurePluginInstalled(log)) {
    r.failed += 1;
    return r;
  }
  const failed = [];
  for (const step of ['build', 'typecheck', 'lint']) {
    if (npm(['run', step], log)) {
      r.passed += 1;
    } else {
      r.failed += 1;
      failed.push(`npm run ${step} failed (its output is above)`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-jest-'));
  const report = join(dir, 'report.json');
  try {
    const ok = npm(['run', 'test:ci', '--', '--json', `--outputFile=${report}`], log);
    if (!existsSync(report)) {
      r.failed += 1; // jest died before reporting
      return r;
    }
    const j = JSON.parse(readFileSync(report, 'utf8'));
    r.passed += j.numPassedTests ?? 0;
    r.failed += (j.numFailedTests ?? 0) + (j.numRuntimeErrorTestSuites ?? 0);
    r.skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    for (const file of j.testResults ?? []) {
      for (const t of file.assertionResults ?? []) {
        if (t.status === 'failed') {
          failed.push(`${t.fullName}\n${(t.failureMessages ?? []).join('\n').slice(0, 2000)}`);
        }
      }
      if (file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed')) {
        failed.push(`${file.name}: ${String(file.message).slice(0, 2000)}`);
      }
    }
    // a failure outside any test (globalSetup, a crashed worker)
    if (!ok && r.failed === 0) {
      r.failed += 1;
      failed.push('jest exited with an error outside any test (its output is above)');
    }
    if (failed.length) {
      r.failures = failed.join('\n\n');
    }
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
