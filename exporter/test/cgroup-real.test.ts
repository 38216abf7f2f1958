/**
 * The cgroup collector over real cgroups that the test makes (as root): two groups, "busy" and
 * "idle", a CPU-burning child moved into busy and a sleeping one into idle. busy's CPU grows and
 * idle's does not. Two layouts:
 *   - cgroup v2: cgroup2 mounted in a temp dir, used as the sys root (<tmp>/fs/cgroup). On a
 *     hybrid host (this VM) the cpu, memory and io controllers are bound to v1, so the v2 groups
 *     have the core files only (cpu.stat's usage/user/system, PSI): CPU is what they can show.
 *   - cgroup v1: the host's own cpu/cpuacct/memory/blkio hierarchies (where /sys/fs/cgroup is v1),
 *     groups made under this process's own group in each; busy's child also allocates 64 MiB and
 *     writes 16 MiB with O_DIRECT (v1 blkio sees direct I/O only), so memory and IO grow there too.
 * Groups, mounts and children are removed afterwards. A kernel or sandbox that refuses any step
 * skips with the reason in the title. Growth is waited for by polling the collector, not timed.
 */
import { expect } from 'chai';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CgroupEntry, Snapshot } from '@perfwatch/store';
import { walkCgroups, walkCgroupsFs } from '../src/cgroup/discover.js';
import { cgroup } from '../src/collectors/cgroup.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { quietLogger, testConfig } from './helpers.js';

function skip(ctx: Mocha.Context, why: string): never {
  ctx.test!.title += ` (skipped: ${why})`;
  ctx.skip();
}

const TAG = `perfwatch-test-${process.pid}`;
const BURN = 'for (;;) {}';
// 64 MiB touched, 16 MiB written around the page cache, then burn
const BURN_MEM_IO = (file: string) => `
const keep = Buffer.alloc(64 << 20, 1);
const r = require('node:child_process').spawnSync('dd', ['if=/dev/zero', 'of=${file}', 'bs=1M', 'count=16', 'oflag=direct'], { stdio: 'ignore' });
require('node:fs').writeFileSync('${file}.status', String(r.status));
globalThis.keep = keep;
for (;;) {}`;

function child(code: string): ChildProcess {
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
}

/** A process that sleeps, once it has exec'd sleep (so its start-up CPU is behind it). */
async function sleeper(): Promise<ChildProcess> {
  const c = spawn('sleep', ['100000'], { stdio: 'ignore' });
  for (let i = 0; i < 1000; i++) {
    try {
      if (readFileSync(`/proc/${c.pid}/comm`, 'utf8') === 'sleep\n') return c;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return c;
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}

/** "major:minor" of the whole disk a directory is on (throttle rules take whole disks). */
function wholeDisk(dir: string): string {
  const dev = statSync(dir).dev;
  const id = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((Math.floor(dev / 4096) & 0xfff00))}`;
  const sys = `/sys/dev/block/${id}`;
  return existsSync(join(sys, 'partition')) ? readFileSync(join(sys, '../dev'), 'utf8').trim() : id;
}

async function collect(env: Record<string, string>): Promise<Snapshot> {
  const pipeline = new SnapshotPipeline(testConfig(env), [cgroup], quietLogger());
  try {
    return await pipeline.collect(Date.now());
  } finally {
    // the collector keeps the CPU files open between collections: a mount it holds cannot be unmounted
    await pipeline.close();
  }
}

/** Collects until `done` holds (the collector sees what the kernel counted), at most ~60 s. */
async function until(env: Record<string, string>, done: (g: Record<string, CgroupEntry>) => boolean): Promise<Record<string, CgroupEntry>> {
  let g: Record<string, CgroupEntry> = {};
  for (let i = 0; i < 600; i++) {
    g = (await collect(env)).cgroups?.g ?? {};
    if (done(g)) return g;
    await new Promise((r) => setTimeout(r, 100));
  }
  return g;
}

/** cgroup2 mounted at <tmp>/fs/cgroup (the sys root <tmp>), or the test skipped with the reason. */
function mountV2(ctx: Mocha.Context): { sys: string; mnt: string } {
  if (process.getuid?.() !== 0) skip(ctx, 'mounting cgroup2 needs root');
  const sys = mkdtempSync(join(tmpdir(), 'perfwatch-cg2-'));
  const mnt = join(sys, 'fs/cgroup');
  mkdirSync(mnt, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'cgroup2', 'none', mnt], { stdio: 'pipe' });
  } catch (err) {
    rmSync(sys, { recursive: true, force: true });
    skip(ctx, `mount -t cgroup2 failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || String(err)}`);
  }
  return { sys, mnt };
}

function unmountV2(sys: string, mnt: string): void {
  execFileSync('umount', [mnt], { stdio: 'pipe' });
  rmSync(sys, { recursive: true, force: true });
}

describe('cgroup collector over real cgroups made by the test (root)', function () {
  this.timeout(120_000);

  it('cgroup v2 mounted in a temp dir: the busy group\'s CPU grows, the idle one\'s does not', async function () {
    const { sys, mnt } = mountV2(this);
    const top = join(mnt, TAG);
    const children: ChildProcess[] = [];
    try {
      mkdirSync(join(top, 'busy'), { recursive: true });
      mkdirSync(join(top, 'idle'));
      const burner = child(BURN);
      const idler = await sleeper();
      children.push(burner, idler);
      writeFileSync(join(top, 'busy/cgroup.procs'), String(burner.pid));
      writeFileSync(join(top, 'idle/cgroup.procs'), String(idler.pid));
      const env = { PERFWATCH_SYS_ROOT: sys, PERFWATCH_CGROUP_INCLUDE: `^/${TAG}(/|$)` };
      const first = (await collect(env)).cgroups!;
      expect(first.v).to.equal(2);
      expect(Object.keys(first.g)).to.deep.equal([`/${TAG}`, `/${TAG}/busy`, `/${TAG}/idle`]);
      const b0 = first.g[`/${TAG}/busy`]!.cpuu!;
      const i0 = first.g[`/${TAG}/idle`]!.cpuu!;
      const g = await until(env, (g) => g[`/${TAG}/busy`]!.cpuu! - b0 >= 0.5);
      const busy = g[`/${TAG}/busy`]!;
      const idle = g[`/${TAG}/idle`]!;
      this.test!.title += ` (busy +${(busy.cpuu! - b0).toFixed(3)} s, idle +${(idle.cpuu! - i0).toFixed(3)} s)`;
      expect(busy.cpuu! - b0).to.be.at.least(0.5);
      expect(busy.cpu![0]).to.be.greaterThan(0);
      // sleep never wakes: a few ms at most
      expect(idle.cpuu! - i0).to.be.lessThan(0.05);
      // the parent's counter includes its children's (read once more: a collection reads the
      // parent before its children)
      const after = (await collect(env)).cgroups!.g;
      expect(after[`/${TAG}`]!.cpuu).to.be.at.least(busy.cpuu!);
    } finally {
      await stop(children);
      for (const d of [join(top, 'busy'), join(top, 'idle'), top]) if (existsSync(d)) rmdirSync(d);
      unmountV2(sys, mnt);
    }
  });

  it('discovery on cgroupfs: a group whose link count says it has none below is not opened, and one made below it later is found', function () {
    const { sys, mnt } = mountV2(this);
    const top = join(mnt, `${TAG}-walk`);
    const dirs = ['a', 'a/b', 'c', 'c/d'];
    try {
      mkdirSync(top);
      for (const d of dirs.slice(0, 3)) mkdirSync(join(top, d));
      // kernfs: a directory's link count is 2 plus its subdirectories (what listDirs trusts)
      expect(statSync(join(top, 'c')).nlink).to.equal(2);
      expect(statSync(join(top, 'a')).nlink).to.equal(3);
      expect([...walkCgroups(top)].sort()).to.deep.equal(['/a', '/a/b', '/c']);
      mkdirSync(join(top, 'c/d'));
      expect(statSync(join(top, 'c')).nlink).to.equal(3);
      const now = [...walkCgroups(top)].sort();
      expect(now).to.deep.equal(['/a', '/a/b', '/c', '/c/d']);
      expect(now).to.deep.equal([...walkCgroupsFs(top)].sort());
      rmdirSync(join(top, 'c/d'));
      expect([...walkCgroups(top)].sort()).to.deep.equal(['/a', '/a/b', '/c']);
    } finally {
      for (const d of [...dirs].reverse()) if (existsSync(join(top, d))) rmdirSync(join(top, d));
      if (existsSync(top)) rmdirSync(top);
      unmountV2(sys, mnt);
    }
  });

  it('cgroup v1 (this VM\'s hierarchies): CPU, memory and IO grow in the busy group only', async function () {
    if (process.getuid?.() !== 0) skip(this, 'making v1 cgroups needs root');
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) skip(this, '/sys/fs/cgroup is cgroup v2 on this host');
    // this process's own group in each hierarchy ("4:memory:/a/b"): the test's groups go beneath it
    const own = new Map<string, string>();
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
      const [, ctrls = '', path = '/'] = line.split(':');
      for (const c of ctrls.split(',')) own.set(c, path === '/' ? '' : path);
    }
    const ctrls = ['cpu', 'cpuacct', 'memory', 'blkio'].filter((c) => existsSync(`/sys/fs/cgroup/${c}/tasks`));
    if (!ctrls.includes('cpuacct')) skip(this, 'no v1 cpuacct hierarchy at /sys/fs/cgroup/cpuacct');
    const dirs = ctrls.map((c) => `/sys/fs/cgroup/${c}${own.get(c) ?? ''}/${TAG}`);
    const work = mkdtempSync(join(tmpdir(), 'perfwatch-cg1-'));
    const children: ChildProcess[] = [];
    try {
      try {
        for (const d of dirs) for (const g of ['busy', 'idle']) mkdirSync(join(d, g), { recursive: true });
      } catch (err) {
        skip(this, `mkdir in a v1 hierarchy failed: ${(err as Error).message}`);
      }
      // start stopped-free: move first, then the child does its work (it waits for its stdin to close)
      const file = join(work, 'direct');
      // On this VM's 6.x kernel the v1 blkio.throttle.* counters move only for a group with a
      // throttle rule on the device: give both groups one far above any real rate (1 TiB/s).
      const disk = wholeDisk(work);
      let ioRule: string | undefined;
      if (ctrls.includes('blkio')) {
        try {
          for (const g of ['busy', 'idle']) writeFileSync(join(dirs[ctrls.indexOf('blkio')]!, g, 'blkio.throttle.write_bps_device'), `${disk} 1099511627776`);
        } catch (err) {
          ioRule = `no throttle rule on ${disk}: ${(err as Error).message}`;
        }
      }
      const burner = spawn(process.execPath, ['-e', `process.stdin.on('end', () => { ${BURN_MEM_IO(file).replace(/\n/g, ' ')} }); process.stdin.resume();`], { stdio: ['pipe', 'ignore', 'ignore'] });
      const idler = await sleeper();
      children.push(burner, idler);
      for (const d of dirs) {
        writeFileSync(join(d, 'busy/cgroup.procs'), String(burner.pid));
        writeFileSync(join(d, 'idle/cgroup.procs'), String(idler.pid));
      }
      const env = { PERFWATCH_CGROUP_INCLUDE: `/${TAG}/(busy|idle)$` };
      const first = await collect(env);
      expect(first.cgroups!.v).to.equal(1);
      // the groups' paths per hierarchy (cpuacct's and memory's differ where this process's do)
      const pathOf = (ctrl: string, g: string) => `${own.get(ctrl) ?? ''}/${TAG}/${g}`;
      const cpuBusy = pathOf('cpuacct', 'busy');
      const cpuIdle = pathOf('cpuacct', 'idle');
      const b0 = first.cgroups!.g[cpuBusy]!.cpuu!;
      const i0 = first.cgroups!.g[cpuIdle]!.cpuu!;
      burner.stdin!.end();
      const g = await until(env, (g) => g[cpuBusy]!.cpuu! - b0 >= 0.5 && existsSync(`${file}.status`));
      const title: string[] = [`busy +${(g[cpuBusy]!.cpuu! - b0).toFixed(3)} s CPU, idle +${(g[cpuIdle]!.cpuu! - i0).toFixed(3)} s`];
      expect(g[cpuBusy]!.cpuu! - b0).to.be.at.least(0.5);
      expect(g[cpuBusy]!.cpu![0]).to.be.greaterThan(0);
      expect(g[cpuIdle]!.cpuu! - i0).to.be.lessThan(0.05);
      if (ctrls.includes('memory')) {
        const mb = g[pathOf('memory', 'busy')]!.mem!;
        const mi = g[pathOf('memory', 'idle')]!.mem!;
        title.push(`memory busy ${(mb / 2 ** 20).toFixed(1)} MiB, idle ${(mi / 2 ** 20).toFixed(1)} MiB`);
        expect(mb - mi).to.be.at.least(48 * 2 ** 20);
        expect(g[pathOf('memory', 'busy')]!.ms!.rss).to.be.at.least(48 * 2 ** 20);
      }
      if (ctrls.includes('blkio')) {
        const status = readFileSync(`${file}.status`, 'utf8');
        if (ioRule) title.push(`IO not checked: ${ioRule}`);
        else if (status !== '0') title.push(`IO not checked: dd oflag=direct exited ${status} on ${work}`);
        else {
          const written = (e: CgroupEntry | undefined) => Object.values(e?.io ?? {}).reduce((s, v) => s + v[1]!, 0);
          const wb = written(g[pathOf('blkio', 'busy')]);
          const wi = written(g[pathOf('blkio', 'idle')]);
          title.push(`written busy ${(wb / 2 ** 20).toFixed(1)} MiB, idle ${(wi / 2 ** 20).toFixed(1)} MiB`);
          expect(wb).to.be.at.least(16 * 2 ** 20);
          expect(wi).to.equal(0);
        }
      }
      this.test!.title += ` (${title.join('; ')})`;
    } finally {
      await stop(children);
      for (const d of dirs) for (const sub of [join(d, 'busy'), join(d, 'idle'), d]) if (existsSync(sub)) rmdirSync(sub);
      rmSync(work, { recursive: true, force: true });
    }
  });
});
