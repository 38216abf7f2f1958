/**
 * Corrupted cgroup control files and /proc/<pid> files (issue #20, part 2), end to end: each file
 * in turn emptied, filled with random bytes, `NaN` text or a 1 MB line, cut short, or replaced by
 * a directory, then scraped. Every scrape answers 200.
 * - A cgroup control file fails only its own group (the design of collectors/cgroup.ts: one bad
 *   group must not hide the others): perfwatch_container_read_error 1 for that group, with the
 *   file and line as its `err` in the snapshot, 0 for every other group, and the cgroup collector
 *   itself stays 1. An empty io.stat is what a group without I/O has.
 * - A /proc/<pid> file fails the processes collector (success 0, the file and line as its reason).
 * Limits (memory.max, pids.max) are read once a minute (LimitCache), so they are not corrupted
 * here; they go through parseSingleValue like memory.current. The files other than cpu.stat are
 * read when the group's CPU usage moved (cgroup/read.ts), so the group runs while each of them is
 * corrupted: its cpu.stat's usage_usec moves too. Likewise a process's status and io are read when
 * its CPU ticks moved (collectors/processes.ts): pid 100 runs while they are corrupted.
 */
import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../src/app.js';
import { corruptions, successes, withCorrupted, type Corruption, type CorruptionName } from './corrupt.js';
import { FIXTURES, parseExposition, quietLogger, scrape, testConfig } from './helpers.js';

const CORRUPTIONS = corruptions(11);

const GROUP = '/system.slice/sshd.service';
/** control files of GROUP read on every collection where it ran; legit: corruptions that are what the kernel writes. */
const CGROUP_FILES: { file: string; legit?: CorruptionName[] }[] = [
  { file: 'cpu.stat' },
  { file: 'memory.current' },
  { file: 'memory.stat' },
  { file: 'memory.swap.current' },
  { file: 'memory.events' },
  { file: 'io.stat', legit: ['empty'] },
  { file: 'cpu.pressure' },
  { file: 'memory.pressure' },
  { file: 'io.pressure' },
  { file: 'pids.current' },
];

const TAIL = '1 100 100 0 -1 4194560 5153 0 0 0 712 93 0 0 20 0 11 0 184110 1151967232 12345 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
const PROCS: Record<string, string> = {
  '100/stat': `100 (sshd) S ${TAIL}`,
  '100/cgroup': `0::${GROUP}\n`,
  '100/status': 'Name:\tsshd\nState:\tS (sleeping)\nVmRSS:\t   49380 kB\nVmSwap:\t       0 kB\nThreads:\t1\n',
  '100/io': 'rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n',
  '200/stat': `200 (cron) S ${TAIL}`,
  '200/cgroup': '0::/system.slice/cron.service\n',
  '200/status': 'Name:\tcron\nState:\tS (sleeping)\nVmRSS:\t   1000 kB\nThreads:\t1\n',
  '200/io': 'rchar: 1\nwchar: 2\nsyscr: 1\nsyscw: 1\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n',
};

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('corrupted cgroup control files and /proc/<pid> files', function () {
  this.timeout(120_000);
  let dir: string;
  let exporter: Exporter;
  let healthy: Map<string, number>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-corrupt-cg-'));
    cpSync(`${FIXTURES}cgroups/v2/sys`, join(dir, 'sys'), { recursive: true, verbatimSymlinks: true });
    for (const [p, text] of Object.entries(PROCS)) {
      mkdirSync(join(dir, 'proc', p, '..'), { recursive: true });
      writeFileSync(join(dir, 'proc', p), text);
    }
    exporter = await startExporter(
      testConfig({ PERFWATCH_PROC_ROOT: join(dir, 'proc'), PERFWATCH_SYS_ROOT: join(dir, 'sys'), PERFWATCH_ROOTFS: join(dir, 'rootfs'), PERFWATCH_COLLECTORS: 'cgroup,processes' }),
      quietLogger(),
    );
    const r = await scrape(`${exporter.url}/metrics`);
    expect(r.status).to.equal(200);
    healthy = successes(r.body);
    expect(healthy.get('cgroup')).to.equal(1);
    expect(healthy.get('processes')).to.equal(1);
    expect(exporter.sampler.last!.procs!.g.map((g) => g.c).sort()).to.deep.equal(['cron', 'sshd']);
    expect(exporter.sampler.last!.cgroups!.g[GROUP]!.err).to.equal(undefined);
  });

  after(async () => {
    await exporter?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** label value (the first group of `re`) -> sample value. */
  function metrics(body: string, re: RegExp): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, v] of parseExposition(body)) {
      const m = re.exec(k);
      if (m) out.set(m[1]!, v);
    }
    return out;
  }

  async function corrupted(path: string, corruption: Corruption, check: (body: string) => void): Promise<void> {
    await withCorrupted(path, corruption, async () => {
      const r = await scrape(`${exporter.url}/metrics`);
      expect(r.status).to.equal(200);
      check(r.body);
    });
  }

  /** pid 100 ran: its utime moves, to a value no scrape saw before (put back afterwards). */
  let ticks = 0;
  async function processRan<T>(work: () => Promise<T>): Promise<T> {
    const file = join(dir, 'proc', '100/stat');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace(/^(100 \(sshd\) S (?:\S+ ){10})(\d+)/, (_, head: string, n: string) => `${head}${Number(n) + ++ticks}`));
    try {
      return await work();
    } finally {
      writeFileSync(file, good);
    }
  }

  /** GROUP's tasks ran: its usage_usec moves, to a value no scrape saw before (put back afterwards). */
  let moves = 0;
  async function running<T>(work: () => Promise<T>): Promise<T> {
    const file = join(dir, 'sys/fs/cgroup', GROUP, 'cpu.stat');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace(/^usage_usec (\d+)$/m, (_, n: string) => `usage_usec ${Number(n) + ++moves}`));
    try {
      return await work();
    } finally {
      writeFileSync(file, good);
    }
  }


  for (const { file, legit = [] } of CGROUP_FILES) {
    for (const corruption of CORRUPTIONS) {
      const ok = legit.includes(corruption.name);
      it(`${GROUP}/${file}, ${corruption.name}: 200, ${ok ? 'no read error (what the kernel may write)' : 'read_error 1 for that group only, its err names the file'}`, async () => {
        const path = join(dir, 'sys/fs/cgroup', GROUP, file);
        const run = file === 'cpu.stat' ? (w: () => Promise<void>) => w() : running;
        await run(() => corrupted(path, corruption, (body) => {
          expect(successes(body)).to.deep.equal(healthy);
          const errors = metrics(body, /^perfwatch_container_read_error\{cgroup="([^"]+)"/);
          expect(errors.size).to.be.greaterThan(3);
          for (const [g, v] of errors) {
            // broken.service is the fixture's own malformed memory.stat
            if (g === '/system.slice/broken.service') continue;
            expect(v, `read_error of ${g}`).to.equal(g === GROUP && !ok ? 1 : 0);
          }
          const err = exporter.sampler.last!.cgroups!.g[GROUP]!.err;
          if (ok) expect(err).to.equal(undefined);
          else if (corruption.name === 'a directory') expect(err).to.equal(`${path}: a directory, not the kernel file`);
          else expect(err).to.match(new RegExp(`^${esc(path)}:\\d+: `));
        }));
      });
    }
  }

  it("a group that did not run keeps its last values of the files other than cpu.stat (read again once it runs)", async () => {
    const path = join(dir, 'sys/fs/cgroup', GROUP, 'memory.current');
    await scrape(`${exporter.url}/metrics`);
    const before = exporter.sampler.last!.cgroups!.g[GROUP]!;
    await withCorrupted(path, CORRUPTIONS.find((c) => c.name === 'NaN text')!, async () => {
      await scrape(`${exporter.url}/metrics`);
      const idle = exporter.sampler.last!.cgroups!.g[GROUP]!;
      expect(idle.err).to.equal(undefined);
      expect(idle.mem).to.equal(before.mem);
      await running(async () => {
        await scrape(`${exporter.url}/metrics`);
        expect(exporter.sampler.last!.cgroups!.g[GROUP]!.err).to.match(new RegExp(`^${esc(path)}:1: `));
      });
    });
  });

  // /proc/<pid>/cgroup is read when a process is first seen (then once a minute): a process that
  // appears for the test, pid 300, has its cgroup file corrupted
  for (const file of ['100/stat', '300/cgroup', '100/status', '100/io']) {
    for (const corruption of CORRUPTIONS) {
      it(`/proc/${file}, ${corruption.name}: 200, processes 0 with the file, cgroup still 1`, async () => {
        const path = join(dir, 'proc', file);
        const fresh = file.startsWith('300/');
        if (fresh) {
          for (const f of ['stat', 'cgroup', 'status', 'io']) {
            mkdirSync(join(dir, 'proc/300'), { recursive: true });
            writeFileSync(join(dir, 'proc/300', f), PROCS[`100/${f}`]!.replace('100 (sshd)', '300 (sshd)'));
          }
        }
        try {
          const check = () => corrupted(path, corruption, (body) => {
            const now = successes(body);
            expect(now.get('cgroup')).to.equal(1);
            expect(now.get('processes')).to.equal(0);
            const col = exporter.sampler.last!.col.processes!;
            expect(col.ok).to.equal(false);
            if (corruption.name === 'a directory') expect(col.err).to.equal(`${path}: a directory, not the kernel file`);
            else expect(col.err).to.match(new RegExp(`^${esc(path)}:\\d+: `));
          });
          await (file === '100/status' || file === '100/io' ? processRan(check) : check());
        } finally {
          if (fresh) rmSync(join(dir, 'proc/300'), { recursive: true, force: true });
        }
      });
    }
  }

  it('the intact trees again: both collectors 1, no read error for the group', async () => {
    const r = await scrape(`${exporter.url}/metrics`);
    expect(r.status).to.equal(200);
    expect(successes(r.body)).to.deep.equal(healthy);
    expect(exporter.sampler.last!.cgroups!.g[GROUP]!.err).to.equal(undefined);
  });
});
