/**
 * openGroup on real perf_event_open(2): software events really count on this machine, hardware
 * events report why not, and groups open/read/reset/close as documented. Runs as root.
 */
import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { hardwarePmus, nativeStatus, onlineCpus, openFdCount, openGroup, PerfError, PerfGroup, probeEvent, tryOpenGroup, type PerfReading } from '../lib/index.js';
import { busyLoop, gatedNode, haveCommand, skip, sleep } from './helpers.js';

const value = (r: PerfReading, name: string): bigint => {
  const v = r.values.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no ${name} in reading`);
  return v.raw;
};
const ms = (ns: bigint): number => Number(ns) / 1e6;

describe('openGroup (real perf_event_open)', function () {
  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
  });

  it('reads a whole group in one read: enabled, running, ratio and one value per event in order', async function () {
    const g = openGroup({ events: ['task-clock', 'cpu-clock', 'context-switches', 'page-faults'], target: { cpu: 0 } });
    try {
      expect(g).to.be.instanceOf(PerfGroup);
      expect(g.fdCount).to.equal(4);
      await sleep(20);
      const r = g.read();
      expect(r.values.map((v) => v.name)).to.deep.equal(['task-clock', 'cpu-clock', 'context-switches', 'page-faults']);
      expect(r.enabled).to.be.greaterThan(0);
      // Software events are never multiplexed: running == enabled, ratio 1, scaled == raw.
      expect(r.running).to.equal(r.enabled);
      expect(r.ratio).to.equal(1);
      for (const v of r.values) {
        expect(typeof v.raw).to.equal('bigint');
        expect(v.scaled).to.equal(Number(v.raw));
      }
      expect(new Set(r.values.map((v) => v.id)).size).to.equal(4);
    } finally {
      g.close();
    }
  });

  it('task-clock and cpu-clock on cpu 0 grow by at least the time a child busy-loops pinned to cpu 0', async function () {
    if (!haveCommand('taskset')) skip(this, 'taskset (util-linux) is not installed');
    const busyMs = 300;
    const g = openGroup({ events: ['task-clock', 'cpu-clock'], target: { cpu: 0 } });
    try {
      const child = await gatedNode(busyLoop(busyMs), ['taskset', '-c', '0']);
      const t0 = performance.now();
      const before = g.read();
      child.go();
      expect(await child.exited).to.equal(0);
      const after = g.read();
      const wallMs = performance.now() - t0;
      for (const name of ['task-clock', 'cpu-clock']) {
        const grew = ms(value(after, name) - value(before, name));
        // System-wide, a CPU's clocks count every nanosecond the CPU is counted, idle included,
        // so the lower bound is the busy time (loosely: machines are shared) and the upper bound
        // is the wall time of the window.
        expect(grew, name).to.be.at.least(busyMs * 0.5);
        expect(grew, name).to.be.at.most(wallMs * 1.2 + 50);
      }
    } finally {
      g.close();
    }
  });

  it('task-clock of a pinned busy child opened by pid grows by about the busy time', async function () {
    if (!haveCommand('taskset')) skip(this, 'taskset (util-linux) is not installed');
    const busyMs = 300;
    const child = await gatedNode(busyLoop(busyMs), ['taskset', '-c', '0']);
    const g = openGroup({ events: ['task-clock', 'cpu-migrations'], target: { pid: child.pid } });
    try {
      const before = g.read();
      child.go();
      expect(await child.exited).to.equal(0);
      // Reading after the task exited still returns its final counts.
      const grew = ms(value(g.read(), 'task-clock') - value(before, 'task-clock'));
      expect(grew).to.be.at.least(busyMs * 0.5);
      expect(grew).to.be.below(busyMs * 10);
    } finally {
      g.close();
    }
  });

  it('a loop of sleeps in a process opened by pid raises context-switches', async function () {
    const sleeps = 20;
    const child = await gatedNode(`for (let i = 0; i < ${sleeps}; i++) await new Promise((r) => setTimeout(r, 5))`);
    const g = openGroup({ events: ['context-switches', 'task-clock'], target: { pid: child.pid } });
    try {
      const before = g.read();
      child.go();
      expect(await child.exited).to.equal(0);
      const switches = value(g.read(), 'context-switches') - value(before, 'context-switches');
      // Each sleep blocks the main thread in epoll_wait: at least one switch per sleep.
      expect(Number(switches)).to.be.at.least(sleeps / 2);
    } finally {
      g.close();
    }
  });

  it('touching fresh pages raises page-faults and minor-faults of this process', function () {
    const g = openGroup({ events: ['page-faults', 'minor-faults', 'major-faults'], target: { pid: process.pid } });
    try {
      const before = g.read();
      const bytes = 64 * 1024 * 1024;
      const buf = Buffer.alloc(bytes); // calloc'd: mapped, not yet touched
      buf.fill(1);
      const after = g.read();
      const pages = bytes / 4096;
      const faults = Number(value(after, 'page-faults') - value(before, 'page-faults'));
      const minor = Number(value(after, 'minor-faults') - value(before, 'minor-faults'));
      // One fault per 4 KiB page unless the allocator got huge pages; a quarter is a safe floor.
      expect(faults).to.be.at.least(pages / 4);
      expect(minor).to.be.at.least(pages / 4);
      expect(minor).to.be.at.most(faults);
      expect(buf[bytes - 1]).to.equal(1);
    } finally {
      g.close();
    }
  });

  it('opens custom events (bigint config) beside catalogued ones', function () {
    const g = openGroup({ events: ['task-clock', { name: 'task-clock-again', type: 1, config: 1n, kind: 'software' }], target: { cpu: 0 } });
    try {
      const r = g.read();
      expect(r.values.map((v) => v.name)).to.deep.equal(['task-clock', 'task-clock-again']);
      expect(g.events[1]).to.include({ kind: 'software', config: 1n });
    } finally {
      g.close();
    }
  });

  it('reset() zeroes the counts; enabled/running keep running', async function () {
    const g = openGroup({ events: ['cpu-clock'], target: { cpu: 0 } });
    try {
      await sleep(30);
      const a = g.read();
      g.reset();
      const b = g.read();
      expect(Number(value(a, 'cpu-clock'))).to.be.greaterThan(1e6);
      // After the reset the count holds at most the time since a's read (however long the machine
      // made us wait for b's), not a's count as well; 1 ms for the two clocks' granularity.
      expect(Number(value(b, 'cpu-clock'))).to.be.at.most(b.enabled - a.enabled + 1e6);
      expect(b.enabled).to.be.at.least(a.enabled);
    } finally {
      g.close();
    }
  });

  it('disable() stops counting and enable() resumes it', async function () {
    const g = openGroup({ events: ['cpu-clock'], target: { cpu: 0 } });
    try {
      g.disable();
      const a = g.read();
      await sleep(30);
      const b = g.read();
      expect(value(b, 'cpu-clock')).to.equal(value(a, 'cpu-clock'));
      g.enable();
      await sleep(30);
      expect(value(g.read(), 'cpu-clock') > value(b, 'cpu-clock')).to.equal(true);
    } finally {
      g.close();
    }
  });

  it('close() is idempotent and frees every fd; using a closed group is a "closed" PerfError', function () {
    const start = openFdCount();
    const g = openGroup({ events: ['task-clock', 'context-switches', 'page-faults'], target: { cpu: 0 } });
    expect(openFdCount()).to.equal(start + 3);
    g.close();
    g.close();
    expect(g.closed).to.equal(true);
    expect(g.fdCount).to.equal(0);
    expect(openFdCount()).to.equal(start);
    for (const op of [() => g.read(), () => g.reset(), () => g.enable(), () => g.disable()]) {
      expect(op).to.throw(PerfError).with.property('reason', 'closed');
    }
  });

  it('rejects bad input with reason "invalid" before any syscall', function () {
    const cases: [string, () => unknown][] = [
      ['unknown event', () => openGroup({ events: ['cycles-of-doom' as 'task-clock'], target: { cpu: 0 } })],
      ['no events', () => openGroup({ events: [], target: { cpu: 0 } })],
      ['duplicate event', () => openGroup({ events: ['task-clock', 'task-clock'], target: { cpu: 0 } })],
      ['system-wide without cpu', () => openGroup({ events: ['task-clock'], target: { cpu: -1 } })],
      ['cgroup without cpu', () => openGroup({ events: ['task-clock'], target: { cgroupPath: '/sys/fs/cgroup', cpu: -1 } })],
      ['negative pid', () => openGroup({ events: ['task-clock'], target: { pid: -5 } })],
      ['bad custom event', () => openGroup({ events: [{ name: 'x', type: -1, config: 0 }], target: { cpu: 0 } })],
    ];
    for (const [name, f] of cases) {
      expect(f, name).to.throw(PerfError).with.property('reason', 'invalid');
    }
  });

  it('maps kernel refusals to reasons: no such process, cpu offline, no such cgroup', function () {
    const cpus = onlineCpus();
    const offline = Math.max(...cpus) + 1;
    const cases: [Parameters<typeof probeEvent>[1], string, string][] = [
      [{ pid: 2 ** 22 + 1 }, 'no such process', 'ESRCH'], // above pid_max's ceiling
      [{ cpu: offline }, 'cpu offline', 'EINVAL'],
      [{ cgroupPath: '/nonexistent/perfwatch', cpu: 0 }, 'no such cgroup', 'ENOENT'],
      [{ cgroupPath: '/tmp', cpu: 0 }, 'no such cgroup', 'EBADF'],
    ];
    for (const [target, reason, errno] of cases) {
      const p = probeEvent('task-clock', target);
      expect(p, JSON.stringify(target)).to.include({ available: false, reason, errno });
      expect(p.fix).to.be.a('string').and.not.equal('');
    }
  });

  it('tryOpenGroup returns the PerfError instead of throwing', function () {
    const r = tryOpenGroup({ events: ['task-clock'], target: { pid: 2 ** 22 + 1 } });
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error.code).to.equal('PERF_NO_SUCH_PROCESS');
  });

  it('a group the caller drops is closed when it is garbage-collected', async function () {
    this.timeout(30000);
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const start = openFdCount();
    (() => {
      for (let i = 0; i < 200; i++) openGroup({ events: ['task-clock', 'cpu-clock'], target: { cpu: 0 } });
    })();
    expect(openFdCount()).to.equal(start + 400);
    // Finalizers run after the collection, from the event loop: collect and yield until they did.
    for (let i = 0; i < 100 && openFdCount() > start; i++) {
      gc();
      await sleep(10);
    }
    expect(openFdCount()).to.equal(start);
  });
});

describe('hardware events', function () {
  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
  });

  it('without a PMU (a VM like this one), cpu-cycles and instructions report "not supported" and software events still work', function () {
    const pmus = hardwarePmus();
    if (pmus.length > 0) skip(this, `this host has a hardware PMU (${pmus.join(', ')}); the PMU test below covers it`);
    for (const event of ['cpu-cycles', 'instructions', 'LLC-load-misses'] as const) {
      const p = probeEvent(event, { cpu: 0 });
      expect(p.available, event).to.equal(false);
      expect(p.reason, event).to.equal('not supported');
      expect(p.message, event).to.contain('no hardware PMU');
    }
    // A group that mixes them fails as a whole, with the hardware event named.
    const r = tryOpenGroup({ events: ['task-clock', 'cpu-cycles'], target: { cpu: 0 } });
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error).to.include({ reason: 'not supported', event: 'cpu-cycles' });
    expect(probeEvent('task-clock', { cpu: 0 }).available).to.equal(true);
  });

  it('with a PMU, cpu-cycles and instructions grow while this process works', function () {
    const pmus = hardwarePmus();
    if (pmus.length === 0) skip(this, 'no hardware PMU under /sys/bus/event_source/devices (a VM without a virtual PMU)');
    const g = openGroup({ events: ['cpu-cycles', 'instructions'], target: { pid: process.pid } });
    try {
      const before = g.read();
      let x = 0;
      for (let i = 0; i < 5e6; i++) x += i % 7;
      const after = g.read();
      expect(x).to.be.greaterThan(0);
      expect(value(after, 'cpu-cycles') - value(before, 'cpu-cycles') > 1_000_000n).to.equal(true);
      expect(value(after, 'instructions') - value(before, 'instructions') > 1_000_000n).to.equal(true);
      expect(after.ratio).to.be.greaterThan(0);
    } finally {
      g.close();
    }
  });
});
