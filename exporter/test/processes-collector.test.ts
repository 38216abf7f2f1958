/**
 * The processes collector: over a /proc tree the test writes (groups by command and cgroup, the
 * top N by CPU and by RSS, a CPU counter that keeps what exited and moved processes used), and
 * over this machine's /proc with a CPU-burning child named by the test.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessGroup, Snapshot } from '@perfwatch/store';
import { createProcessCollector, processes, topGroups } from '../src/collectors/processes.js';
import { SLOW_MAX_AGE_MS } from '../src/cgroup/read.js';
import { renderSnapshotText } from '../src/metrics.js';
import { pageSize } from '../src/pagesize.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { promtoolCheck, quietLogger, testConfig } from './helpers.js';

interface FakeProc {
  comm: string;
  cg: string;
  utime: number;
  stime: number;
  rss: number;
  start?: number;
  swapKb?: number;
  io?: [number, number];
}

function writeProc(root: string, pid: number, p: FakeProc): void {
  const d = join(root, String(pid));
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'stat'), `${pid} (${p.comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${p.utime} ${p.stime} 0 0 20 0 2 0 ${p.start ?? 1000 + pid} 100000000 ${p.rss} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`);
  writeFileSync(join(d, 'cgroup'), `0::${p.cg}\n`);
  writeFileSync(join(d, 'status'), `Name:\t${p.comm}\nVmRSS:\t${(p.rss * pageSize()) / 1024} kB\nVmSwap:\t${p.swapKb ?? 0} kB\n`);
  const [r, w] = p.io ?? [0, 0];
  writeFileSync(join(d, 'io'), `rchar: 1\nwchar: 1\nsyscr: 1\nsyscw: 1\nread_bytes: ${r}\nwrite_bytes: ${w}\ncancelled_write_bytes: 0\n`);
}

const byName = (s: Snapshot) => new Map<string, ProcessGroup>(s.procs!.g.map((g) => [`${g.c} ${g.cg}`, g]));

describe('processes collector', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'perfwatch-procs-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const pipeline = (top = 20) => new SnapshotPipeline(testConfig({ PERFWATCH_PROC_ROOT: root, PERFWATCH_PROCESS_TOP: String(top) }), [processes], quietLogger());

  it('groups by command name and cgroup, sums CPU, RSS, threads, swap and IO; no pid in the output', async () => {
    writeProc(root, 100, { comm: 'nginx', cg: '/system.slice/nginx.service', utime: 100, stime: 50, rss: 1000, io: [4096, 8192], swapKb: 4 });
    writeProc(root, 101, { comm: 'nginx', cg: '/system.slice/nginx.service', utime: 300, stime: 10, rss: 2000, io: [0, 4096] });
    writeProc(root, 102, { comm: 'nginx', cg: '/system.slice/docker-x.scope', utime: 7, stime: 3, rss: 10 });
    writeProc(root, 200, { comm: 'tmux: a) b', cg: '/user.slice', utime: 1, stime: 1, rss: 5 });
    const snap = await pipeline().collect(0);
    expect(snap.col.processes).to.include({ ok: true });
    expect(snap.procs).to.include({ n: 4, ng: 3 });
    const g = byName(snap);
    expect(g.get('nginx /system.slice/nginx.service')).to.deep.equal({
      c: 'nginx', cg: '/system.slice/nginx.service', cpu: [4, 0.6], rss: 3000 * pageSize(), n: 2, thr: 4, swap: 4096, io: [4096, 12288],
    });
    expect(g.get('nginx /system.slice/docker-x.scope')!.cpu).to.deep.equal([0.07, 0.03]);
    const text = renderSnapshotText(snap);
    expect(text).to.contain('perfwatch_process_cpu_seconds_total{comm="tmux: a) b",cgroup="/user.slice",mode="user"} 0.01');
    expect(text).to.not.match(/pid=/);
    const check = promtoolCheck(text);
    if (check) expect(check.output).to.equal('');
  });

  it('top N by CPU since the last collection and top N by RSS, their union', async () => {
    const p = pipeline(1);
    writeProc(root, 1, { comm: 'old-busy', cg: '/', utime: 10_000, stime: 0, rss: 1 });
    writeProc(root, 2, { comm: 'now-busy', cg: '/', utime: 10, stime: 0, rss: 1 });
    writeProc(root, 3, { comm: 'big', cg: '/', utime: 1, stime: 0, rss: 1_000_000 });
    // (in name order)
    expect((await p.collect(0)).procs!.g.map((g) => g.c)).to.deep.equal(['big', 'old-busy']);
    // old-busy did nothing since; now-busy used 2 s
    writeProc(root, 2, { comm: 'now-busy', cg: '/', utime: 210, stime: 0, rss: 1 });
    expect((await p.collect(0)).procs!.g.map((g) => g.c)).to.deep.equal(['big', 'now-busy']);
    expect(topGroups([1, 2, 3], 2, (x) => x, (x) => -x)).to.deep.equal([3, 2, 1]);
    // a tie goes to what was in the last top
    expect(topGroups([1, 2, 3], 1, () => 0, () => 0, (x) => x === 3)).to.deep.equal([3]);
    expect(topGroups([1, 2, 3], 1, () => 0, () => 0)).to.deep.equal([1]);
  });

  it('the same groups give the same shape: name order, ties kept by the groups already exported, kernel threads by the name before "/"', async () => {
    const p = pipeline(2);
    // a kernel thread: PF_KTHREAD (0x200000) in the flags field
    const kthread = (pid: number, comm: string, utime: number) =>
      writeFileSync(join(root, String(pid), 'stat'), `${pid} (${comm}) I 2 0 0 0 -1 69238880 0 0 0 0 ${utime} 0 0 0 20 0 1 0 ${100 + pid} 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`);
    for (const [pid, comm] of [[3, 'zeta'], [4, 'alpha'], [5, 'mid'], [6, 'omega']] as const) writeProc(root, pid, { comm, cg: '/', utime: 1, stime: 0, rss: 1 });
    writeProc(root, 7, { comm: 'kworker/u8:3-flush-254:0', cg: '/', utime: 0, stime: 0, rss: 0 });
    kthread(7, 'kworker/u8:3-flush-254:0', 4);
    writeProc(root, 8, { comm: 'kworker/1:0-events', cg: '/', utime: 0, stime: 0, rss: 0 });
    kthread(8, 'kworker/1:0-events', 6);
    const first = (await p.collect(0)).procs!;
    expect(first.ng).to.equal(5);
    const kw = first.g.find((g) => g.c === 'kworker')!;
    expect(kw.n).to.equal(2);
    expect(kw.cpu[0]).to.equal(0.1);
    expect(first.g.map((g) => g.c)).to.deep.equal(first.g.map((g) => g.c).sort());
    // (the first collection ranks by CPU since start, the next by CPU since the first)
    const names = (await p.collect(0)).procs!.g.map((g) => g.c);
    expect(names).to.deep.equal([...names].sort());
    // nobody used CPU since, and the workers ran other queues: the same groups, in the same order
    kthread(7, 'kworker/u8:3-events_unbound', 4);
    kthread(8, 'kworker/1:0-mm_percpu_wq', 6);
    for (let round = 0; round < 3; round++) expect((await p.collect(0)).procs!.g.map((g) => g.c)).to.deep.equal(names);
    // one that was not exported and ran moves in, in its place by name
    const pid = [3, 4, 5, 6].find((n) => !names.includes(['zeta', 'alpha', 'mid', 'omega'][n - 3]!))!;
    const comm = ['zeta', 'alpha', 'mid', 'omega'][pid - 3]!;
    writeProc(root, pid, { comm, cg: '/', utime: 500, stime: 0, rss: 1 });
    const after = (await p.collect(0)).procs!.g.map((g) => g.c);
    expect(after).to.include(comm);
    expect(after).to.deep.equal([...after].sort());
  });

  it('CPU is a counter: an exited process and one that exec\'d away keep their share; a group with none left ends', async () => {
    const p = pipeline();
    writeProc(root, 10, { comm: 'worker', cg: '/a', utime: 100, stime: 0, rss: 1 });
    writeProc(root, 11, { comm: 'worker', cg: '/a', utime: 200, stime: 0, rss: 1 });
    writeProc(root, 12, { comm: 'sh', cg: '/a', utime: 5, stime: 0, rss: 1 });
    expect(byName(await p.collect(0)).get('worker /a')!.cpu[0]).to.equal(3);
    // 10 ran 1 s more and exited; 11 ran 1 s more
    writeProc(root, 10, { comm: 'worker', cg: '/a', utime: 200, stime: 0, rss: 1 });
    await p.collect(0);
    rmSync(join(root, '10'), { recursive: true });
    writeProc(root, 11, { comm: 'worker', cg: '/a', utime: 300, stime: 0, rss: 1 });
    let g = byName(await p.collect(0));
    expect(g.get('worker /a')!.cpu[0]).to.equal(5);
    expect(g.get('worker /a')!.n).to.equal(1);
    // 12 exec'd into a worker: from now on it counts there; sh keeps its 0.05 s until it has no process
    writeProc(root, 12, { comm: 'worker', cg: '/a', utime: 15, stime: 0, rss: 1 });
    g = byName(await p.collect(0));
    expect(g.get('worker /a')!.cpu[0]).to.equal(5);
    expect(g.has('sh /a')).to.equal(false);
    writeProc(root, 12, { comm: 'worker', cg: '/a', utime: 115, stime: 0, rss: 1 });
    expect(byName(await p.collect(0)).get('worker /a')!.cpu[0]).to.equal(6);
    // a pid reused by a new process (another start time) is a new process
    writeProc(root, 11, { comm: 'worker', cg: '/a', utime: 50, stime: 0, rss: 1, start: 999_999 });
    expect(byName(await p.collect(0)).get('worker /a')!.cpu[0]).to.equal(6 + 0.5);
  });

  it('no swap device in <proc>/swaps: status is not read, swap 0 where a process has memory, absent for kernel threads', async () => {
    writeProc(root, 100, { comm: 'nginx', cg: '/a', utime: 1, stime: 1, rss: 10, swapKb: 8 });
    writeProc(root, 2, { comm: 'kthreadd', cg: '/', utime: 1, stime: 1, rss: 0 });
    // a kernel thread: PF_KTHREAD (0x200000) in the flags field
    writeFileSync(join(root, '2', 'stat'), '2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 1 1 0 0 20 0 1 0 2 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n');
    writeFileSync(join(root, '2', 'status'), 'Name:\tkthreadd\n');
    writeFileSync(join(root, 'swaps'), 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n');
    const g = byName(await pipeline().collect(0));
    expect(g.get('nginx /a')!.swap).to.equal(0);
    expect(g.get('kthreadd /')).to.not.have.property('swap');
    // with a swap device listed, status is read again (VmSwap 8 kB)
    writeFileSync(join(root, 'swaps'), 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda2 partition 1024 8 -2\n');
    const h = byName(await pipeline().collect(0));
    expect(h.get('nginx /a')!.swap).to.equal(8192);
    expect(h.get('kthreadd /')).to.not.have.property('swap');
  });

  it("a process's io and VmSwap are read again when its CPU moved, else once due (at most SLOW_MAX_AGE_MS old)", async () => {
    let now = 1_000_000;
    const config = testConfig({ PERFWATCH_PROC_ROOT: root, PERFWATCH_PROCESS_TOP: '20' });
    const p = new SnapshotPipeline(config, [{ ...processes, create: (c) => createProcessCollector(c, () => now) }], quietLogger());
    writeFileSync(join(root, 'swaps'), 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda2 partition 1024 8 -2\n');
    writeProc(root, 100, { comm: 'db', cg: '/a', utime: 10, stime: 0, rss: 10, io: [4096, 0], swapKb: 1 });
    writeProc(root, 101, { comm: 'db', cg: '/a', utime: 10, stime: 0, rss: 10, io: [4096, 0], swapKb: 1 });
    const io = async () => {
      const g = byName(await p.collect(0)).get('db /a')!;
      return [g.io, g.swap];
    };
    expect(await io()).to.deep.equal([[8192, 0], 2048]);
    // 100 did not run (its ticks as before): its io and status as last read, until due
    writeProc(root, 100, { comm: 'db', cg: '/a', utime: 10, stime: 0, rss: 10, io: [1_000_000, 5], swapKb: 3 });
    now += 5_000;
    expect(await io()).to.deep.equal([[8192, 0], 2048]);
    // 101 ran: read again at once; 100 still not
    writeProc(root, 101, { comm: 'db', cg: '/a', utime: 11, stime: 0, rss: 10, io: [8192, 0], swapKb: 1 });
    now += 5_000;
    expect(await io()).to.deep.equal([[4096 + 8192, 0], 2048]);
    // SLOW_MAX_AGE_MS later 100 is due whether it ran or not
    now += SLOW_MAX_AGE_MS;
    expect(await io()).to.deep.equal([[1_000_000 + 8192, 5], 4096]);
    // 100 ran and is gone when its io is read (after its stat): left out, as before; not its old values
    writeProc(root, 100, { comm: 'db', cg: '/a', utime: 12, stime: 0, rss: 10, io: [1_000_000, 5], swapKb: 3 });
    rmSync(join(root, '100', 'io'));
    expect(await io()).to.deep.equal([[8192, 0], 1024]);
  });

  it('PERFWATCH_PROCESS_TOP=0: no section', async () => {
    writeProc(root, 1, { comm: 'x', cg: '/', utime: 1, stime: 1, rss: 1 });
    expect((await pipeline(0).collect(0)).procs).to.equal(undefined);
  });

  it('a proc root without processes (a fixture tree): no section, the collector succeeds', async () => {
    const snap = await new SnapshotPipeline(testConfig({}, 'small'), [processes], quietLogger()).collect(0);
    expect(snap.procs).to.equal(undefined);
    expect(snap.col.processes).to.include({ ok: true });
  });

  it("this machine's /proc: a CPU-burning child named by the test rises to the top by CPU", async function () {
    this.timeout(60_000);
    const name = `pwburn${process.pid % 100000}`;
    const burner = spawn(process.execPath, ['-e', `process.title = ${JSON.stringify(name)}; for (;;) {}`], { stdio: 'ignore' });
    try {
      const p = new SnapshotPipeline(testConfig({ PERFWATCH_PROCESS_TOP: '3' }), [processes], quietLogger());
      let mine: ProcessGroup | undefined;
      let snap: Snapshot | undefined;
      let first: number | undefined;
      for (let i = 0; i < 300; i++) {
        snap = await p.collect(Date.now());
        mine = snap.procs!.g.find((g) => g.c === name);
        if (mine && first === undefined) first = mine.cpu[0] + mine.cpu[1];
        if (mine && first !== undefined && mine.cpu[0] + mine.cpu[1] - first >= 0.3) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(mine, `${name} among the top 3 by CPU`).to.not.equal(undefined);
      expect(mine!.cpu[0] + mine!.cpu[1] - first!).to.be.at.least(0.3);
      expect(mine!.n).to.equal(1);
      expect(mine!.rss).to.be.greaterThan(10 * 2 ** 20);
      expect(snap!.procs!.n).to.be.greaterThan(5);
      this.test!.title += ` (${snap!.procs!.n} processes in ${snap!.procs!.ng} groups; ${name} in ${mine!.cg})`;
    } finally {
      burner.kill('SIGKILL');
    }
  });
});
