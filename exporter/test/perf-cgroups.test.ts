/**
 * PERFWATCH_PERF_CGROUP_DISCOVERY: the perf collector counts the cgroups it discovers, as many as
 * the fd budget allows (the rest report "fd budget"). Planning over the fixture trees; counting
 * over cgroup2 mounted in a temp dir as <sys>/fs/cgroup (root), with a CPU-burning child in one
 * group: its task-clock grows, the other's does not.
 */
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PerfCounts, PerfSection } from '@perfwatch/store';
import { perf } from '../src/collectors/perf.js';
import { perfCgroupRoot, planPerfCgroups } from '../src/collectors/perf-cgroups.js';
import type { CollectContext } from '../src/collectors/types.js';
import { FIXTURES, quietLogger, testConfig } from './helpers.js';

function skip(ctx: Mocha.Context, why: string): never {
  ctx.test!.title += ` (skipped: ${why})`;
  ctx.skip();
}

describe('perf cgroup discovery: the plan', () => {
  const config = (env: Record<string, string> = {}) => testConfig(env, 'cgroups/docker');
  const root = `${FIXTURES}cgroups/docker/sys/fs/cgroup`;

  it('the hierarchy perf can use: v2, none on a fixture without cgroups', () => {
    expect(perfCgroupRoot(`${FIXTURES}cgroups/docker/sys`)).to.equal(root);
    expect(perfCgroupRoot(`${FIXTURES}small/sys`)).to.equal(undefined);
    // v1 without perf_event and without a v2 mount that has cgroup.controllers
    expect(perfCgroupRoot(`${FIXTURES}cgroups/v1/sys`)).to.equal(undefined);
  });

  it('configured first, then named groups, shallower first; the budget cuts the rest', () => {
    const all = planPerfCgroups(config({ PERFWATCH_PERF_CGROUPS: '/sys/fs/cgroup/mine' }), (w) => w);
    expect(all.counted[0]).to.equal('/sys/fs/cgroup/mine');
    expect(all.counted.slice(1, 2)).to.deep.equal([`${root}/system.slice`]);
    expect(all.counted).to.have.length(8);
    expect(all.left).to.deep.equal([]);
    const three = planPerfCgroups(config({ PERFWATCH_PERF_CGROUPS: '/sys/fs/cgroup/mine' }), () => 3);
    expect(three.counted).to.deep.equal(['/sys/fs/cgroup/mine', `${root}/system.slice`, `${root}/system.slice/containerd.service`]);
    expect(three.left).to.have.length(5);
    expect(planPerfCgroups(config({ PERFWATCH_CGROUP_INCLUDE: 'docker\\.service' }), (w) => w).counted).to.deep.equal([`${root}/system.slice/docker.service`]);
  });
});

describe('perf cgroup discovery on a temporary cgroup2 mount (root)', function () {
  this.timeout(60_000);
  const TAG = `perfwatch-perfcg-${process.pid}`;

  it("counts the discovered groups' tasks; over the budget, the rest say fd budget", async function () {
    if (process.getuid?.() !== 0) skip(this, 'mounting cgroup2 needs root');
    const sys = mkdtempSync(join(tmpdir(), 'perfwatch-perfcg-'));
    const mnt = join(sys, 'fs/cgroup');
    mkdirSync(mnt, { recursive: true });
    // the collector lists the online CPUs under the same sys root
    symlinkSync('/sys/devices', join(sys, 'devices'));
    try {
      execFileSync('mount', ['-t', 'cgroup2', 'none', mnt], { stdio: 'pipe' });
    } catch (err) {
      rmSync(sys, { recursive: true, force: true });
      skip(this, `mount -t cgroup2 failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || String(err)}`);
    }
    const top = join(mnt, TAG);
    let burner: ChildProcess | undefined;
    const collectors: { close?(): void | Promise<void> }[] = [];
    try {
      mkdirSync(join(top, 'busy'), { recursive: true });
      mkdirSync(join(top, 'idle'));
      const make = (env: Record<string, string>) => {
        const config = testConfig({
          PERFWATCH_SYS_ROOT: sys, PERFWATCH_PERF_EVENTS: 'task-clock,context-switches', PERFWATCH_PERF_CGROUP_DISCOVERY: 'true',
          PERFWATCH_CGROUP_INCLUDE: `^/${TAG}/`, ...env,
        });
        const c = perf.create(config, quietLogger());
        collectors.push(c);
        const ctx = { config, log: quietLogger(), optional: (_f: string, read: () => unknown) => read() } as unknown as CollectContext;
        return () => (c.collect(ctx) as { perf: PerfSection }).perf;
      };
      const collect = make({});
      const a = collect();
      const busy = join(top, 'busy');
      const idle = join(top, 'idle');
      expect(Object.keys(a.cg ?? {}).sort()).to.deep.equal([busy, idle]);
      if (a.cg![busy]!.un["task-clock"] !== undefined) skip(this, `no perf_event in cgroup v2 here: ${a.cg![busy]!.un['task-clock']}`);
      const taskClock = (g: PerfCounts) => Object.values(g.c).reduce((s, v) => s + (v[0] ?? 0), 0);
      burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
      writeFileSync(join(busy, 'cgroup.procs'), String(burner.pid));
      const b0 = taskClock(a.cg![busy]!);
      const i0 = taskClock(a.cg![idle]!);
      let b = a;
      for (let i = 0; i < 300 && taskClock(b.cg![busy]!) - b0 < 0.3; i++) {
        await new Promise((r) => setTimeout(r, 100));
        b = collect();
      }
      const busyGrew = taskClock(b.cg![busy]!) - b0;
      const idleGrew = taskClock(b.cg![idle]!) - i0;
      this.test!.title += ` (busy task-clock +${busyGrew.toFixed(3)} s, idle +${idleGrew.toFixed(3)} s)`;
      expect(busyGrew).to.be.at.least(0.3);
      expect(idleGrew).to.be.below(0.005);

      // 2 events x CPUs x (1 + 1 cgroup) + 1: room for one group only (busy: it sorts first)
      const cpus = Object.keys(a.c).length;
      const small = make({ PERFWATCH_PERF_FD_BUDGET: String(2 * cpus * 2 + 1) })();
      expect(small.cg![busy]!.un).to.deep.equal({});
      expect(small.cg![idle]!.un).to.deep.equal({ 'task-clock': 'fd budget', 'context-switches': 'fd budget' });
    } finally {
      for (const c of collectors) await c.close?.();
      if (burner) {
        const exited = new Promise((r) => burner!.once('exit', r));
        burner.kill('SIGKILL');
        await exited;
      }
      for (const d of [join(top, 'busy'), join(top, 'idle'), top]) if (existsSync(d)) rmdirSync(d);
      execFileSync('umount', [mnt], { stdio: 'pipe' });
      rmSync(sys, { recursive: true, force: true });
    }
  });
});
