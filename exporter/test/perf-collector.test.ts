/**
 * The perf collector on real syscalls (no mocks), as root on this machine: software events count,
 * hardware events on a PMU-less VM are reported "not supported" while the rest works, the fd
 * budget refuses before opening anything, close() gives every fd back, cgroup mode counts only the
 * cgroup's tasks and re-checks a cgroup that appears later, and an unprivileged exporter still
 * serves /metrics with the permission reason.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { hardwarePmus, nativeStatus, onlineCpus, openFdCount, perfEventParanoid } from '@perfwatch/native';
import type { PerfSection, Snapshot } from '@perfwatch/store';
import { startExporter, type Exporter } from '../src/app.js';
import { perf, planGroups, resolvePerfEvents } from '../src/collectors/perf.js';
import { loadConfig } from '../src/config.js';
import type { CollectContext, Collector } from '../src/collectors/types.js';
import { ConfigError } from '../src/errors.js';
import { createLogger, type Logger } from '../src/log.js';
import { renderSnapshotText } from '../src/metrics.js';
import { parseExposition, promtoolCheck, quietLogger, scrape, testConfig } from './helpers.js';
import { busyLoop, ensureTestUser, gatedNode, haveCommand, isRoot, skip, sleep, TempCgroup2, TEST_USER, TSX_LOADER } from '../../native/test/helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const SOFTWARE = ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults', 'major-faults'];
const HARDWARE = ['cpu-cycles', 'instructions', 'cache-references', 'cache-misses', 'branch-instructions', 'branch-misses'];

/** A logger whose lines the test can read. */
function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger('info', stream), lines };
}

/** The collector alone, as the pipeline drives it. */
function createPerf(env: Record<string, string>, log: Logger = quietLogger()): { collector: Collector; collect(): PerfSection } {
  const config = testConfig(env);
  const collector = perf.create(config, log);
  const ctx = { config, log, optional: (_f: string, read: () => unknown) => read() } as unknown as CollectContext;
  return {
    collector,
    collect: () => {
      const sections = collector.collect(ctx) as { perf: PerfSection };
      return sections.perf;
    },
  };
}

const sum = (section: PerfSection | Omit<PerfSection, 'ev'>, i: number): number => Object.values(section.c).reduce((a, v) => a + (v[i] ?? 0), 0);

describe('perf configuration', () => {
  it('has documented defaults and reads every PERFWATCH_PERF_ variable', () => {
    const d = loadConfig({});
    expect(d.perfEvents).to.deep.equal([...HARDWARE, ...SOFTWARE]);
    expect(d).to.include({ perfFdBudget: 4096, perfRecheckSeconds: 60 });
    expect(d.perfCgroups).to.deep.equal([]);
    const c = loadConfig({
      PERFWATCH_PERF_EVENTS: 'task-clock, Context-Switches',
      PERFWATCH_PERF_CGROUPS: '/sys/fs/cgroup/a,/sys/fs/cgroup/b,/sys/fs/cgroup/a',
      PERFWATCH_PERF_FD_BUDGET: '100',
      PERFWATCH_PERF_RECHECK_SECONDS: '5',
    });
    expect(c.perfEvents).to.deep.equal(['task-clock', 'Context-Switches']);
    expect(resolvePerfEvents(c.perfEvents)).to.deep.equal(['task-clock', 'context-switches']);
    expect(c.perfCgroups).to.deep.equal(['/sys/fs/cgroup/a', '/sys/fs/cgroup/b']);
    expect(c).to.include({ perfFdBudget: 100, perfRecheckSeconds: 5 });
  });

  const bad: [string, string, RegExp][] = [
    ['PERFWATCH_PERF_CGROUPS', 'system.slice', /PERFWATCH_PERF_CGROUPS: "system.slice" must be an absolute path/],
    ['PERFWATCH_PERF_FD_BUDGET', '0', /PERFWATCH_PERF_FD_BUDGET: "0" is not a whole number from 1/],
    ['PERFWATCH_PERF_RECHECK_SECONDS', '0', /PERFWATCH_PERF_RECHECK_SECONDS: "0" is not a number from 1 to 86400/],
  ];
  for (const [name, value, re] of bad) {
    it(`rejects ${name}=${value} with a message naming the variable`, () => {
      expect(() => loadConfig({ [name]: value })).to.throw(ConfigError, re);
    });
  }

  it('an event list with no names is a ConfigError', () => {
    expect(() => resolvePerfEvents(loadConfig({ PERFWATCH_PERF_EVENTS: ' , ' }).perfEvents)).to.throw(ConfigError, /^PERFWATCH_PERF_EVENTS: names no event/);
  });

  it('groups events to be compared: cycles with instructions, references with misses, software together', () => {
    expect(planGroups(resolvePerfEvents(loadConfig({}).perfEvents))).to.deep.equal([
      ['cpu-cycles', 'instructions'],
      ['cache-references', 'cache-misses'],
      ['branch-instructions', 'branch-misses'],
      ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults', 'major-faults'],
    ]);
  });
});

describe('perf collector', function () {
  this.timeout(30_000);

  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
    if (process.getuid?.() !== 0 && (perfEventParanoid() ?? 2) > 0) skip(this, 'system-wide counting needs root, CAP_PERFMON or perf_event_paranoid <= 0');
  });

  describe('in the exporter (PERFWATCH_COLLECTORS=perf,cpu)', () => {
    let exporter: Exporter;
    const cpus = onlineCpus();

    before(async () => {
      exporter = await startExporter(testConfig({ PERFWATCH_COLLECTORS: 'perf,cpu' }), quietLogger(), { processMetrics: false });
    });

    after(async () => {
      await exporter?.close();
    });

    it('answers 200 with the perf families, the collector succeeding, and promtool clean', async () => {
      const r = await scrape(`${exporter.url}/metrics`);
      expect(r.status).to.equal(200);
      const m = parseExposition(r.body);
      expect(m.get('perfwatch_scrape_collector_success{collector="perf"}')).to.equal(1);
      expect(m.get('perfwatch_scrape_collector_success{collector="cpu"}')).to.equal(1);
      for (const e of SOFTWARE) expect(m.get(`perfwatch_perf_event_available{event="${e}",reason=""}`), e).to.equal(1);
      for (const cpu of cpus) {
        expect(m.get(`perfwatch_perf_task_clock_seconds_total{cpu="${cpu}"}`)).to.be.greaterThan(0);
        expect(m.get(`perfwatch_perf_context_switches_total{cpu="${cpu}"}`)).to.be.a('number');
      }
      const check = promtoolCheck(r.body);
      if (check === undefined) console.log('      promtool not installed (Debian package prometheus); lint skipped');
      else expect(check.output).to.equal('');
    });

    it('reports hardware events "not supported" on a host without a PMU (counted where there is one)', async function () {
      const m = parseExposition((await scrape(`${exporter.url}/metrics`)).body);
      if (hardwarePmus().length === 0) {
        for (const e of HARDWARE) expect(m.get(`perfwatch_perf_event_available{event="${e}",reason="not supported"}`), e).to.equal(0);
        expect([...m.keys()].filter((k) => k.startsWith('perfwatch_perf_cpu_cycles_total'))).to.deep.equal([]);
      } else {
        console.log(`      this host has a PMU (${hardwarePmus().join(', ')}): checking cycles and instructions count`);
        const a = exporter.sampler.last ?? (await exporter.sampler.collectNow());
        await sleep(200);
        const b = await exporter.sampler.collectNow();
        for (const e of ['cpu-cycles', 'instructions']) {
          const i = b.perf!.ev.indexOf(e);
          expect(b.perf!.un[e], e).to.equal(undefined);
          expect(sum(b.perf!, i), e).to.be.greaterThan(sum(a.perf!, i));
        }
      }
    });

    it('exports a scaling ratio per CPU for every available event, and none for the others', async () => {
      const snap = await exporter.sampler.collectNow();
      const m = parseExposition(await renderSnapshotText(snap));
      for (const e of snap.perf!.ev) {
        for (const cpu of cpus) {
          const ratio = m.get(`perfwatch_perf_scaling_ratio{event="${e}",cpu="${cpu}"}`);
          if (snap.perf!.un[e] === undefined) expect(ratio, `${e} cpu ${cpu}`).to.be.within(0.0001, 1);
          else expect(ratio, `${e} cpu ${cpu}`).to.equal(undefined);
        }
      }
      // software events are never multiplexed
      expect(m.get(`perfwatch_perf_scaling_ratio{event="task-clock",cpu="${cpus[0]}"}`)).to.equal(1);
    });

    it('software events count: task-clock per CPU grows with time, a sleeping child switches contexts, fresh pages fault', async () => {
      const child = await gatedNode(
        `${busyLoop(300)}
         for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 2));
         const b = Buffer.alloc(16 << 20); for (let i = 0; i < b.length; i += 4096) b[i] = 1;`,
      );
      // The counters are read somewhere inside each collectNow(), which a loaded machine can make
      // long: the counted window holds [end of a, start of b] and lies within [start of a, end of b].
      const aStart = performance.now();
      const a = await exporter.sampler.collectNow();
      const aEnd = performance.now();
      child.go();
      await child.exited;
      const bStart = performance.now();
      const b = await exporter.sampler.collectNow();
      const bEnd = performance.now();
      const inner = (bStart - aEnd) / 1000;
      const outer = (bEnd - aStart) / 1000;
      const ev = b.perf!.ev;
      const idx = (e: string) => ev.indexOf(e);
      for (const cpu of cpus) {
        // System-wide, task-clock counts the time the CPU was counted, idle included: the window.
        const grew = b.perf!.c[cpu]![idx('task-clock')]! - a.perf!.c[cpu]![idx('task-clock')]!;
        expect(grew, `task-clock cpu ${cpu} grew (s), window between ${inner.toFixed(4)} s and ${outer.toFixed(4)} s`).to.be.within(inner * 0.95, outer * 1.05 + 0.005);
      }
      expect(sum(b.perf!, idx('context-switches')) - sum(a.perf!, idx('context-switches')), 'context switches').to.be.at.least(50);
      // 16 MiB of fresh 4 KiB pages
      expect(sum(b.perf!, idx('page-faults')) - sum(a.perf!, idx('page-faults')), 'page faults').to.be.at.least(2000);
    });
  });

  describe('alone', () => {
    it('an unknown event name is a ConfigError naming PERFWATCH_PERF_EVENTS and listing the known names', () => {
      expect(() => createPerf({ PERFWATCH_PERF_EVENTS: 'task-clock,cylces' })).to.throw(
        ConfigError,
        /^PERFWATCH_PERF_EVENTS: unknown event "cylces"; known: cpu-cycles, instructions, .*task-clock/,
      );
    });

    it('logs one warning per unavailable event at start, with its reason, and not again on later collections', () => {
      const { log, lines } = capturingLogger();
      const p = createPerf({ PERFWATCH_PERF_EVENTS: 'cpu-cycles,instructions,task-clock' }, log);
      try {
        const first = p.collect();
        p.collect();
        p.collect();
        const warns = lines.filter((l) => l.level === 40);
        expect(warns.map((w) => w.event)).to.deep.equal(Object.keys(first.un));
        for (const w of warns) {
          expect(w.reason).to.equal(first.un[w.event as string]);
          expect(w.msg).to.match(new RegExp(`^perf event ${w.event as string} cannot be counted: ${w.reason as string}: `));
          expect(w.fix).to.be.a('string').and.not.equal('');
        }
        expect(lines.filter((l) => /^perf: counting \d+ of 3 events on \d+ CPUs/.test(String(l.msg)))).to.have.length(1);
      } finally {
        p.collector.close?.();
      }
    });

    it('a fd budget below events x CPUs refuses every event with reason "fd budget" and opens no fd', () => {
      const { log, lines } = capturingLogger();
      const before = openFdCount();
      const p = createPerf({ PERFWATCH_PERF_EVENTS: 'task-clock,context-switches', PERFWATCH_PERF_FD_BUDGET: '1' }, log);
      try {
        const s = p.collect();
        expect(openFdCount()).to.equal(before);
        expect(s.un).to.deep.equal({ 'task-clock': 'fd budget', 'context-switches': 'fd budget' });
        expect(s.c).to.deep.equal({});
        const warn = lines.find((l) => l.event === 'task-clock')!;
        expect(warn.msg).to.contain(`need ${2 * onlineCpus().length} fds`).and.contain('fd budget is 1');
      } finally {
        p.collector.close?.();
      }
    });

    it('renders "fd budget" on /metrics', async () => {
      const p = createPerf({ PERFWATCH_PERF_EVENTS: 'task-clock', PERFWATCH_PERF_FD_BUDGET: '1' });
      const snap: Snapshot = { v: 1, host: 'h', ts: 0, iv: 5, col: {}, perf: p.collect() };
      p.collector.close?.();
      const m = parseExposition(await renderSnapshotText(snap));
      expect(m.get('perfwatch_perf_event_available{event="task-clock",reason="fd budget"}')).to.equal(0);
    });

    it('keeps its groups open across collections and close() gives back every fd', () => {
      const before = openFdCount();
      const p = createPerf({ PERFWATCH_PERF_EVENTS: SOFTWARE.join(',') });
      const open = openFdCount() - before;
      expect(open, 'one fd per software event per CPU').to.equal(SOFTWARE.length * onlineCpus().length);
      for (let i = 0; i < 5; i++) p.collect();
      expect(openFdCount() - before).to.equal(open);
      p.collector.close?.();
      expect(openFdCount()).to.equal(before);
      p.collector.close?.();
      expect(openFdCount()).to.equal(before);
    });
  });

  describe('cgroup mode (PERFWATCH_PERF_CGROUPS) on a temporary cgroup2 mount', () => {
    let cg: TempCgroup2 | undefined;
    let p: ReturnType<typeof createPerf> | undefined;

    before(function () {
      cg = TempCgroup2.mount(this, 'perfwatch-exporter-cg2-');
    });

    after(() => {
      p?.collector.close?.();
      cg?.remove();
    });

    it("counts only the cgroup's tasks, reports a missing cgroup, and re-checks it once it exists", async function () {
      const busy = cg!.mkdir('busy');
      const idle = cg!.mkdir('idle');
      const later = join(cg!.dir, 'later');
      const { log, lines } = capturingLogger();
      p = createPerf(
        { PERFWATCH_PERF_EVENTS: 'task-clock,context-switches', PERFWATCH_PERF_CGROUPS: [busy, idle, later].join(','), PERFWATCH_PERF_RECHECK_SECONDS: '1' },
        log,
      );
      const a = p.collect();
      if (a.cg![busy]!.un['task-clock'] !== undefined) skip(this, `cgroup v2 has no perf_event here: ${a.cg![busy]!.un['task-clock']}`);
      expect(a.cg![later]!.un).to.deep.equal({ 'task-clock': 'no such cgroup', 'context-switches': 'no such cgroup' });
      expect(lines.some((l) => l.cgroup === later && l.reason === 'no such cgroup')).to.equal(true);

      // The child reports the CPU time it got: other work on this machine may leave it less than the wall time.
      const child = await gatedNode(
        '{ const u0 = process.cpuUsage(); const end = Date.now() + 400; let x = 0; while (Date.now() < end) x++; const u = process.cpuUsage(u0); process.stdout.write(String((u.user + u.system) / 1e6)); }',
      );
      writeFileSync(join(busy, 'cgroup.procs'), `${child.pid}\n`);
      const b0 = p.collect();
      child.go();
      await child.exited;
      const b = p.collect();
      const busyGrew = sum(b.cg![busy]!, 0) - sum(b0.cg![busy]!, 0);
      const idleGrew = sum(b.cg![idle]!, 0) - sum(b0.cg![idle]!, 0);
      const childCpu = Number(child.output());
      expect(childCpu, 'child CPU seconds').to.be.greaterThan(0.02);
      // task-clock also has the child's exit after its own measurement: a little more, never less.
      expect(busyGrew, `busy cgroup task-clock s (the child measured ${childCpu} s)`).to.be.within(childCpu * 0.9, childCpu * 1.5 + 0.1);
      expect(idleGrew, 'idle cgroup task-clock s').to.be.below(0.005);

      cg!.mkdir('later');
      await sleep(1100);
      const c = p.collect();
      expect(c.cg![later]!.un).to.deep.equal({});
      expect(Object.keys(c.cg![later]!.c).map(Number)).to.deep.equal(onlineCpus());
      expect(lines.some((l) => l.cgroup === later && /^perf event task-clock is now counted for cgroup/.test(String(l.msg)))).to.equal(true);

      const text = await renderSnapshotText({ v: 1, host: 'h', ts: 0, iv: 5, col: {}, perf: c });
      const m = parseExposition(text);
      expect(m.get(`perfwatch_perf_cgroup_task_clock_seconds_total{cgroup="${busy}",cpu="0"}`)).to.be.a('number');
      expect(m.get(`perfwatch_perf_cgroup_event_available{cgroup="${later}",event="task-clock",reason=""}`)).to.equal(1);
      // A cgroup's counters are enabled only while its tasks run: the idle one has no ratio yet.
      const ratios = (cg: string) => [...m].filter(([k]) => k.startsWith(`perfwatch_perf_cgroup_scaling_ratio{cgroup="${cg}",event="task-clock"`)).map(([, v]) => v);
      expect(ratios(busy)).to.include(1);
      expect(ratios(idle)).to.deep.equal([]);
      const check = promtoolCheck(text);
      if (check !== undefined) expect(check.output).to.equal('');

      // The perf events pin the cgroups: close before the cleanup removes them.
      p.collector.close?.();
    });
  });

  describe('unprivileged (perf_event_paranoid >= 1, no CAP_PERFMON)', function () {
    let child: ChildProcess | undefined;

    before(function () {
      if (!isRoot()) skip(this, 'needs root to switch to a test user');
      if (!haveCommand('runuser')) skip(this, 'runuser (util-linux) is not installed');
      const paranoid = perfEventParanoid();
      if (paranoid === undefined || paranoid < 1) skip(this, `perf_event_paranoid is ${paranoid}: unprivileged system-wide counting is allowed here`);
      const err = ensureTestUser();
      if (err !== undefined) skip(this, err);
      // The exporter runs from this checkout, so the user must be able to read it and node_modules.
      for (const f of [MAIN, fileURLToPath(TSX_LOADER), fileURLToPath(new URL('../../native/build/Release/perfwatch_native.node', import.meta.url))]) {
        if (spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', f]).status !== 0) skip(this, `${TEST_USER} cannot read ${f}`);
      }
    });

    after(async () => {
      if (child !== undefined && child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    });

    it('still serves /metrics, with system-wide events unavailable for "permission" and the reason logged', async () => {
      child = spawn(
        'runuser',
        ['-u', TEST_USER, '--', process.execPath, '--conditions=perfwatch-src', '--import', TSX_LOADER, MAIN],
        {
          env: { ...process.env, PERFWATCH_COLLECTORS: 'perf,cpu', PERFWATCH_EXPORTER_PORT: '0', PERFWATCH_EXPORTER_HOST: '127.0.0.1', PERFWATCH_PERF_EVENTS: 'task-clock,context-switches,cpu-cycles' },
          cwd: tmpdir(),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let errOut = '';
      child.stderr!.on('data', (d: Buffer) => (errOut += d));
      const base = await new Promise<string>((resolve, reject) => {
        child!.stdout!.on('data', (d: Buffer) => {
          out += d;
          const m = out.match(/exporter listening on (http:\/\/[^/]+)\/metrics/);
          if (m) resolve(m[1]!);
        });
        child!.once('exit', (code) => reject(new Error(`exporter exited ${code}:\n${out}\n${errOut}`)));
      });
      const r = await scrape(`${base}/metrics`);
      expect(r.status).to.equal(200);
      const m = parseExposition(r.body);
      expect(m.get('perfwatch_scrape_collector_success{collector="perf"}')).to.equal(1);
      expect(m.get('perfwatch_perf_event_available{event="task-clock",reason="permission"}')).to.equal(0);
      expect(m.get('perfwatch_perf_event_available{event="context-switches",reason="permission"}')).to.equal(0);
      expect([...m.keys()].filter((k) => k.startsWith('perfwatch_perf_task_clock_seconds_total'))).to.deep.equal([]);
      expect([...m.keys()].some((k) => k.startsWith('perfwatch_cpu_seconds_total{'))).to.equal(true);
      const warn = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.event === 'task-clock');
      expect(warn, out).to.include({ level: 40, reason: 'permission' });
      expect(warn!.msg).to.contain(`perf_event_paranoid is ${perfEventParanoid()}`).and.contain('CAP_PERFMON');
    });
  });
});
