/**
 * As a non-root user with perf_event_paranoid >= 1, system-wide counting is refused and the
 * wrapper says why (reason 'permission', naming perf_event_paranoid and CAP_PERFMON), while
 * per-process user-mode counting still works. Creates the user perfwatch-test if needed (root only).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ADDON_PATH, nativeStatus, perfEventParanoid, type EventProbe } from '../lib/index.js';
import { ensureTestUser, haveCommand, isRoot, runTs, skip, TEST_USER } from './helpers.js';

describe('unprivileged user', function () {
  this.timeout(60_000);
  let dir = '';

  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
    if (!isRoot()) skip(this, 'needs root to create and switch to a test user');
    if (!haveCommand('runuser')) skip(this, 'runuser (util-linux) is not installed');
    const paranoid = perfEventParanoid();
    if (paranoid === undefined || paranoid < 1) skip(this, `perf_event_paranoid is ${paranoid}: unprivileged system-wide counting is allowed here`);
    const err = ensureTestUser();
    if (err !== undefined) skip(this, err);
    // The user gets its own copy of the wrapper and the addon in a world-readable directory, so
    // the test does not depend on the permissions of the checkout.
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-unpriv-'));
    const lib = fileURLToPath(new URL('../lib/', import.meta.url));
    mkdirSync(join(dir, 'lib'));
    for (const f of readdirSync(lib)) if (f.endsWith('.ts')) copyFileSync(join(lib, f), join(dir, 'lib', f));
    mkdirSync(join(dir, 'build/Release'), { recursive: true });
    copyFileSync(ADDON_PATH, join(dir, 'build/Release/perfwatch_native.node'));
    writeFileSync(
      join(dir, 'probe.mts'),
      `import { probeEvent } from './lib/index.ts';
console.log(JSON.stringify({
  uid: process.getuid(),
  systemWide: probeEvent('task-clock', { cpu: 0 }),
  selfKernel: probeEvent('task-clock', { pid: 0 }),
  selfUser: probeEvent('task-clock', { pid: 0 }, { excludeKernel: true }),
}));
`,
    );
    for (const p of [dir, join(dir, 'lib'), join(dir, 'build'), join(dir, 'build/Release')]) chmodSync(p, 0o755);
    spawnSync('chmod', ['-R', 'a+rX', dir]);
    const canRead = spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', fileURLToPath(import.meta.resolve('tsx'))]);
    if (canRead.status !== 0) skip(this, `${TEST_USER} cannot read tsx in node_modules`);
  });

  after(function () {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('system-wide task-clock is refused with reason "permission" naming perf_event_paranoid; user-mode self counting works', function () {
    const r = runTs(join(dir, 'probe.mts'), ['runuser', '-u', TEST_USER, '--'], dir);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { uid: number; systemWide: EventProbe; selfKernel: EventProbe; selfUser: EventProbe };
    expect(out.uid).to.not.equal(0);
    expect(out.systemWide).to.include({ available: false, reason: 'permission' });
    expect(out.systemWide.errno).to.be.oneOf(['EACCES', 'EPERM']);
    expect(out.systemWide.message).to.contain(`perf_event_paranoid is ${perfEventParanoid()}`).and.contain('CAP_PERFMON');
    expect(out.systemWide.fix).to.contain('CAP_PERFMON');
    const paranoid = perfEventParanoid() ?? 0;
    if (paranoid === 2) {
      // Level 2: a process may count itself in user mode only.
      expect(out.selfKernel).to.include({ available: false, reason: 'permission' });
      expect(out.selfUser.available, out.selfUser.message).to.equal(true);
    }
  });
});
