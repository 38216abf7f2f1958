/**
 * Our system-wide groups against the kernel's own tool over the same window:
 *   perf stat -a -x, -e task-clock,context-switches,page-faults -- sh -c '<workload>'
 * The workload prints "start", waits for our go, faults in 256 MiB (dd into a fresh buffer),
 * sleeps 1 s, prints "end" and waits again. We read our counters at "start" and "end", so our
 * window sits inside perf's; perf's is longer only by the shell's start-up and exit and the two
 * pipe handshakes (a few ms).
 *
 * Tolerances (relative to perf's number):
 *  - task-clock 20%: system-wide it is CPUs x window length, so the only gap is the few ms at
 *    the window edges; 20% leaves room for a loaded shared machine delaying our reads.
 *  - page-faults 20%: dominated by the 65,536 faults of the workload's buffer, which both see;
 *    perf alone also sees the fork/exec of sh, dd and sleep (hundreds).
 *  - context-switches 50%: a quiet second has only a few hundred switches machine-wide, so the
 *    handshakes, the process start-ups in perf's window and whatever else the shared machine
 *    runs are a large share of the total.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { nativeStatus, onlineCpus, openGroup, type PerfGroup } from '../lib/index.js';
import { haveCommand, isRoot, skip } from './helpers.js';

const EVENTS = ['task-clock', 'context-switches', 'page-faults'] as const;
type Totals = Record<(typeof EVENTS)[number], number>;

function totals(groups: readonly PerfGroup[]): Totals {
  const t: Totals = { 'task-clock': 0, 'context-switches': 0, 'page-faults': 0 };
  for (const g of groups) for (const v of g.read().values) t[v.name as keyof Totals] += v.scaled;
  return t;
}

/** perf stat -x, lines: value,unit,event,run-time,percent,... ; task-clock in msec. */
function parsePerfStat(stderr: string): Totals {
  const t: Partial<Totals> = {};
  for (const line of stderr.split('\n')) {
    const [value, unit, event] = line.split(',');
    if (event === undefined || !(EVENTS as readonly string[]).includes(event)) continue;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`perf stat: ${line}`);
    t[event as keyof Totals] = unit === 'msec' ? n * 1e6 : n;
  }
  for (const e of EVENTS) if (t[e] === undefined) throw new Error(`perf stat printed no ${e}:\n${stderr}`);
  return t as Totals;
}

describe('agreement with perf stat', function () {
  this.timeout(30_000);

  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
    if (!isRoot()) skip(this, 'system-wide counting needs root (or CAP_PERFMON) for both tools');
    if (!haveCommand('perf')) skip(this, 'perf is not installed (Debian: apt-get install linux-perf)');
    const r = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', 'true'], { encoding: 'utf8' });
    if (r.status !== 0) skip(this, `perf stat does not run here: ${(r.stderr || String(r.error)).trim().split('\n')[0]}`);
  });

  it('task-clock, context-switches and page-faults agree over the same window', async function () {
    const groups = onlineCpus().map((cpu) => openGroup({ events: [...EVENTS], target: { cpu } }));
    try {
      const workload = 'echo start; read x; dd if=/dev/zero of=/dev/null bs=256M count=1 2>/dev/null; sleep 1; echo end; read y';
      const perf = spawn('perf', ['stat', '-a', '-x,', '-e', EVENTS.join(','), '--', 'sh', '-c', workload], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      perf.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = once(perf, 'exit');
      let start: Totals | undefined;
      let end: Totals | undefined;
      for await (const line of createInterface({ input: perf.stdout })) {
        if (line === 'start') {
          start = totals(groups);
          perf.stdin.write('go\n');
        } else if (line === 'end') {
          end = totals(groups);
          perf.stdin.end('\n');
        }
      }
      const [code] = await exited;
      expect(code, stderr).to.equal(0);
      if (start === undefined || end === undefined) throw new Error(`workload markers missing; perf said:\n${stderr}`);
      const ours = { 'task-clock': end['task-clock'] - start['task-clock'], 'context-switches': end['context-switches'] - start['context-switches'], 'page-faults': end['page-faults'] - start['page-faults'] };
      const theirs = parsePerfStat(stderr);
      const tolerance: Totals = { 'task-clock': 0.2, 'context-switches': 0.5, 'page-faults': 0.2 };
      for (const e of EVENTS) {
        const diff = Math.abs(ours[e] - theirs[e]) / theirs[e];
        console.log(`      ${e}: ours ${Math.round(ours[e])}, perf stat ${Math.round(theirs[e])} (${(diff * 100).toFixed(1)}% apart, tolerance ${tolerance[e] * 100}%)`);
        expect(diff, e).to.be.at.most(tolerance[e]);
      }
    } finally {
      for (const g of groups) g.close();
    }
  });
});
