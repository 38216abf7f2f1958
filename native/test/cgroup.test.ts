/**
 * cgroup mode (PERF_FLAG_PID_CGROUP): mounts cgroup v2 on a temporary directory, moves a busy
 * child into one of two fresh cgroups, and counts task-clock per CPU for both: the busy cgroup's
 * grows by about the busy time, the idle one's stays near 0. Unmounts and removes everything after.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { nativeStatus, onlineCpus, openGroup, tryOpenGroup, type PerfGroup } from '../lib/index.js';
import { busyLoop, gatedNode, isRoot, skip, sumBy, type GatedChild } from './helpers.js';

describe('cgroup v2 mode', function () {
  this.timeout(30_000);
  let mnt = '';
  let mounted = false;
  const made: string[] = [];
  const groups: PerfGroup[] = [];
  let child: GatedChild | undefined;

  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
    if (!isRoot()) skip(this, 'mounting cgroup2 needs root');
    mnt = mkdtempSync(join(tmpdir(), 'perfwatch-cg2-'));
    const r = spawnSync('mount', ['-t', 'cgroup2', 'none', mnt], { encoding: 'utf8' });
    if (r.status !== 0) skip(this, `mount -t cgroup2 failed: ${(r.stderr || String(r.error)).trim()}`);
    mounted = true;
  });

  after(async function () {
    for (const g of groups) g.close();
    if (child !== undefined && child.child.exitCode === null) {
      child.child.kill('SIGKILL');
      await child.exited;
    }
    // Children first; a cgroup can be removed once its tasks have exited and been reaped.
    for (const d of made.reverse()) {
      try {
        rmdirSync(d);
      } catch (err) {
        console.log(`      cleanup: rmdir ${d}: ${(err as Error).message}`);
      }
    }
    if (mounted) {
      const r = spawnSync('umount', [mnt], { encoding: 'utf8' });
      if (r.status !== 0) console.log(`      cleanup: umount ${mnt}: ${r.stderr.trim()}`);
    }
    if (mnt !== '') rmdirSync(mnt);
  });

  it('task-clock of the cgroup holding a busy child grows; an idle cgroup stays near 0', async function () {
    const busyMs = 400;
    const busy = join(mnt, `perfwatch-busy-${process.pid}`);
    const idle = join(mnt, `perfwatch-idle-${process.pid}`);
    for (const d of [busy, idle]) {
      mkdirSync(d);
      made.push(d);
    }
    const probe = tryOpenGroup({ events: ['task-clock'], target: { cgroupPath: busy, cpu: 0 } });
    if (!probe.ok) skip(this, `cgroup v2 has no perf_event here: ${probe.error.message}`);
    probe.group.close();

    child = await gatedNode(busyLoop(busyMs));
    writeFileSync(join(busy, 'cgroup.procs'), `${child.pid}\n`);

    const open = (path: string): PerfGroup[] =>
      onlineCpus().map((cpu) => {
        const g = openGroup({ events: ['task-clock', 'context-switches'], target: { cgroupPath: path, cpu } });
        groups.push(g);
        return g;
      });
    const busyGroups = open(busy);
    const idleGroups = open(idle);
    const total = (gs: PerfGroup[]): number => sumBy(gs, (g) => Number(g.read().values[0]?.raw ?? 0n)) / 1e6;

    const busyBefore = total(busyGroups);
    const idleBefore = total(idleGroups);
    child.go();
    expect(await child.exited).to.equal(0);
    const busyGrew = total(busyGroups) - busyBefore;
    const idleGrew = total(idleGroups) - idleBefore;

    expect(busyGrew, 'busy cgroup task-clock ms').to.be.at.least(busyMs * 0.5);
    expect(busyGrew).to.be.below(busyMs * 10);
    // Nothing runs in the idle cgroup: its clocks only count while one of its tasks is on a CPU.
    expect(idleGrew, 'idle cgroup task-clock ms').to.be.below(5);
  });
});
