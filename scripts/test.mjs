#!/usr/bin/env node
// `npm test`: installs and builds what is missing, typechecks the tests, runs every suite and ends
// with one line "N passed, N failed, N skipped" summing them all.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, ensureDebianPackages, log, ROOT, run } from './lib.mjs';
import { runPluginSuite } from '../datasource-plugin/scripts/suite.mjs';

const SUITES = [
  { name: 'native', spec: 'native/test/**/*.test.ts' },
  { name: 'store', spec: 'store/test/**/*.test.ts' },
  { name: 'exporter', spec: 'exporter/test/**/*.test.ts' },
  { name: 'api', spec: 'api/test/**/*.test.ts' },
  { name: 'deploy', spec: 'deploy/test/**/*.test.ts' },
  // The Grafana plugin: its own npm project (installed here when missing), build, typecheck, lint, jest.
  { name: 'plugin', dir: 'datasource-plugin', run: () => runPluginSuite(log) },
];

// Which suites to run: `npm test -- exporter native` runs those only.
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));

function runSuite(suite) {
  return new Promise((resolve) => {
    const mocha = join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const child = spawn(process.execPath, [mocha, suite.spec], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('exit', (code) => {
      const count = (re) => Number(out.match(re)?.[1] ?? 0);
      const r = { passed: count(/(\d+) passing/), failed: count(/(\d+) failing/), skipped: count(/(\d+) pending/) };
      // A suite that crashed before mocha's summary counts as one failure.
      if (code !== 0 && r.failed === 0) r.failed = 1;
      // mocha's account of its failures (titles, errors, stacks), said again at the end of the run.
      const at = out.search(/^ {2}\d+ failing$/m);
      if (at >= 0) r.failures = out.slice(at).trimEnd();
      else if (code !== 0) r.failures = `(mocha exited with ${code} before its summary: see the output above)`;
      resolve(r);
    });
  });
}

const totals = { passed: 0, failed: 0, skipped: 0 };
// Each failing suite's failures, repeated just above the last line: CI keeps only the end of a long log.
const failures = [];
try {
  ensureBuilt();
  ensureDebianPackages([
    ['prometheus', 'promtool'],
    ['prometheus-node-exporter', 'prometheus-node-exporter'],
    ['linux-perf', 'perf'],
    ['chromium', 'chromium'],
    // the exporter's write path through a transaction pooler (store/test/pgbouncer.test.ts)
    ['pgbouncer', 'pgbouncer'],
  ]);
  log('typechecking tests...');
  run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.test.json']);
} catch (err) {
  process.stderr.write(`[perfwatch] ${err.message}\n`);
  totals.failed += 1;
}

for (const suite of SUITES) {
  if (only.length && !only.includes(suite.name)) continue;
  if (!existsSync(join(ROOT, suite.dir ?? suite.name, 'test'))) continue;
  log(`suite ${suite.name}`);
  const r = await (suite.run ?? runSuite)(suite);
  log(`suite ${suite.name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
  for (const k of Object.keys(totals)) totals[k] += r[k];
  if (r.failures) failures.push(`suite ${suite.name}:\n${r.failures.length > 6000 ? `${r.failures.slice(0, 6000)}\n  [...]` : r.failures}`);
}

for (const f of failures) log(`failures of ${f}`);

process.stdout.write(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed ? 1 : 0);
