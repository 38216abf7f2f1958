/**
 * cgroup mode (PERF_FLAG_PID_CGROUP): mounts cgroup v2 on a temporary directory, moves a busy
 * child into one of two fresh cgroups, and counts task-clock per CPU for both: the busy cgroup's
 * grows by about the busy time, the idle one's stays near 0. Unmounts and removes everything after.
 */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { nativeStatus, onlineCpus, openGroup, tryOpenGroup, type PerfGroup } from '../lib/index.js';
import { busyLoop, gatedNode, skip, sumBy, TempCgroup2, type GatedChild } from './helpers.js';

describe('cgroup v2 mode', function () {
  this.timeout(30_000);
  let cg: TempCgroup2 | undefined;
  const groups: PerfGroup[] = [];
  let child: GatedChild | undefined;

  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
    cg = TempCgroup2.mount(this);
  });

  after(async function () {
    for (const g of groups) g.close();
    if (child !== undefined && child.child.exitCode === null) {
      child.child.kill('SIGKILL');
      await child.exited;
    }
    cg?.remove();
  });

  it('task-clock of the cgroup holding a busy child grows; an idle cgroup stays near 0', async function () {
    const busyMs = 400;
    const busy = cg!.mkdir(`perfwatch-busy-${process.pid}`);
    const idle = cg!.mkdir(`perfwatch-idle-${process.pid}`);
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
