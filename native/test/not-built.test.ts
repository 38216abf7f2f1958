/**
 * Without the built addon the package still imports, reports why, and every open fails with
 * reason 'native addon not built' instead of crashing: a copy of lib/ with no build/ beside it.
 */
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { runTs } from './helpers.js';

describe('addon not built', function () {
  this.timeout(30_000);
  let dir = '';

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-nobuild-'));
    const lib = fileURLToPath(new URL('../lib/', import.meta.url));
    mkdirSync(join(dir, 'lib'));
    for (const f of readdirSync(lib)) if (f.endsWith('.ts')) copyFileSync(join(lib, f), join(dir, 'lib', f));
    writeFileSync(
      join(dir, 'use.mts'),
      `import { fdLimit, nativeStatus, openGroup, probeEvent, PerfError, readFiles, readFilesAvailable } from './lib/index.ts';
const s = nativeStatus();
let thrown: unknown;
try { openGroup({ events: ['task-clock'], target: { cpu: 0 } }); } catch (e) { thrown = e; }
let readThrown: unknown;
try { readFiles(['/proc/self/stat']); } catch (e) { readThrown = e; }
console.log(JSON.stringify({
  available: s.available,
  reason: s.available ? null : s.reason,
  thrownIsPerfError: thrown instanceof PerfError,
  thrownReason: (thrown as PerfError).reason,
  thrownCode: (thrown as PerfError).code,
  probe: probeEvent('task-clock', { cpu: 0 }),
  fdLimit: fdLimit(),
  readFilesAvailable: readFilesAvailable(),
  readReason: (readThrown as PerfError).reason,
}));
`,
    );
  });

  after(function () {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('imports, says "native addon not built: run npm install", and refuses opens with that reason', function () {
    const r = runTs(join(dir, 'use.mts'), [], dir);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    expect(out.available).to.equal(false);
    expect(out.reason).to.contain('native addon not built: run npm install').and.contain('perfwatch_native.node');
    expect(out).to.include({ thrownIsPerfError: true, thrownReason: 'native addon not built', thrownCode: 'PERF_NOT_BUILT' });
    expect(out.probe).to.include({ available: false, reason: 'native addon not built' });
    // Helpers that have a /proc fallback keep working.
    expect(out.fdLimit.soft).to.be.a('number');
    // readFiles says beforehand that it cannot, so a caller reads file by file instead
    expect(out).to.include({ readFilesAvailable: false, readReason: 'native addon not built' });
  });
});
