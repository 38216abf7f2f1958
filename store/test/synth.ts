/**
 * Realistic snapshot series for tests and benchmarks: a fixture snapshot (exporter/test/fixtures)
 * made to evolve the way a host does at 5 s intervals: counters grow by plausible amounts (and
 * zero counters mostly stay zero), CPU seconds in jiffies (two decimals), memory in pages, load
 * averages with two decimals, collector durations as measured doubles (all 17 digits), statfs
 * sizes of real disks. Deterministic for a seed. No mocha here: the benchmark imports it too.
 */
import { readFileSync } from 'node:fs';
import type { Snapshot } from '../src/index.js';

export const FIXTURES = new URL('../../exporter/test/fixtures/', import.meta.url);

/** A fixture snapshot: small (2-CPU VM) or large (64-CPU server); compact = without vm and nstat. */
export function fixtureSnapshot(which: 'small' | 'large', opts: { compact?: boolean } = {}): Snapshot {
  const s = JSON.parse(readFileSync(new URL(`${which}/snapshot.golden.json`, FIXTURES), 'utf8')) as Snapshot;
  if (opts.compact) {
    delete s.vm;
    delete s.nstat;
  }
  return s;
}

/** mulberry32: a small deterministic PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAGE = 4096;

/** A host whose snapshots evolve from a fixture. */
export class HostSim {
  private readonly s: Snapshot;
  private readonly r: () => number;
  private readonly jiffies: Record<string, number[]>;
  private seq = 0;

  constructor(base: Snapshot, host: string, seed = 1, private readonly intervalMs = 5_000) {
    this.s = JSON.parse(JSON.stringify(base)) as Snapshot;
    this.s.host = host;
    this.r = rng(seed);
    this.jiffies = Object.fromEntries(Object.entries(this.s.cpu?.t ?? {}).map(([k, v]) => [k, v.map((x) => Math.round(x * 100))]));
    // Masked fixture values (-1 sizes, 0 durations): sizes of a real disk.
    for (const e of this.s.fs ?? []) {
      if (e.size !== undefined && e.size <= 0) {
        const blocks = Math.floor(2_000_000 + this.r() * 20_000_000);
        e.size = blocks * PAGE;
        e.free = Math.floor(blocks * 0.4) * PAGE;
        e.avail = Math.floor(blocks * 0.35) * PAGE;
        e.files = Math.floor(blocks / 4);
        e.ffree = Math.floor(blocks / 5);
      }
    }
  }

  private int(n: number): number {
    return Math.floor(this.r() * n);
  }

  /** Next snapshot at ts (a fresh object). */
  next(ts: number): Snapshot {
    const s = this.s;
    const r = this.r;
    const iv = this.intervalMs / 1000;
    this.seq++;
    s.ts = ts;
    // performance.now() differences: doubles with every digit in use.
    for (const c of Object.values(s.col)) c.s = (r() * 2.5 + 0.05) / 1000 + r() * 1e-9;
    if (s.cpu) {
      for (const [cpu, j] of Object.entries(this.jiffies)) {
        let left = iv * 100;
        const busy = r() < 0.1 ? 0.6 : 0.08;
        const add = (i: number, n: number) => {
          const k = Math.min(left, Math.max(0, Math.round(n)));
          if (j[i] !== undefined) j[i] += k;
          left -= k;
        };
        add(0, left * busy * r() * 2); // user
        add(2, left * busy * r()); // system
        add(4, r() < 0.2 ? r() * 3 : 0); // iowait
        add(6, r() * 2); // softirq
        add(7, r() < 0.3 ? r() * 2 : 0); // steal
        add(1, r() < 0.05 ? 1 : 0); // nice
        if (j[3] !== undefined) j[3] += left; // idle
        s.cpu.t[cpu] = j.map((x) => x / 100);
      }
      s.cpu.intr = (s.cpu.intr ?? 0) + 800 + this.int(4000);
      s.cpu.ctxt = (s.cpu.ctxt ?? 0) + 1500 + this.int(9000);
      s.cpu.forks = (s.cpu.forks ?? 0) + this.int(40);
      s.cpu.run = 1 + this.int(3);
      s.cpu.blk = r() < 0.1 ? 1 : 0;
    }
    if (s.mem) {
      const total = s.mem.MemTotal ?? 2 ** 31;
      for (const k of Object.keys(s.mem)) {
        const v = s.mem[k]!;
        if (v === 0 || k === 'MemTotal' || k.endsWith('Total') || k === 'Hugepagesize' || k.startsWith('DirectMap') || k === 'CommitLimit') continue;
        const step = Math.round((r() - 0.5) * 0.002 * total / PAGE) * PAGE;
        s.mem[k] = Math.max(0, Math.min(total, v + step));
      }
    }
    if (s.load) {
      s.load.l = s.load.l.map((x, i) => Math.max(0, Math.round((x + (r() - 0.5) * 0.1 / (i + 1)) * 100) / 100)) as [number, number, number];
      s.load.run = 1 + this.int(3);
      s.load.ent = (s.load.ent ?? 180) + this.int(5) - 2;
    }
    if (s.vm) {
      for (const k of Object.keys(s.vm)) {
        const v = s.vm[k]!;
        if (k.startsWith('nr_') && !k.startsWith('nr_dirtied') && !k.startsWith('nr_written')) {
          if (v !== 0) s.vm[k] = Math.max(0, v + this.int(200) - 100);
        } else if (v !== 0 || r() < 0.001) {
          s.vm[k] = v + this.int(v > 1e8 ? 5000 : v > 1e5 ? 300 : 3);
        }
      }
    }
    if (s.up) {
      s.up.s = Math.round((s.up.s + iv + (r() - 0.5) * 0.02) * 100) / 100;
      s.up.idle = Math.round((s.up.idle + iv * 1.8 * r()) * 100) / 100;
    }
    if (s.disk) {
      for (const d of Object.values(s.disk)) {
        const reads = this.int(30);
        const writes = this.int(60);
        const inc = (i: number, n: number, dec = 0) => {
          if (d[i] !== undefined) d[i] = dec ? Math.round((d[i]! + n) * 10 ** dec) / 10 ** dec : d[i]! + n;
        };
        inc(0, reads);
        inc(1, this.int(5));
        inc(2, reads * PAGE * (1 + this.int(8)));
        inc(3, reads * 0.0004 * r(), 3);
        inc(4, writes);
        inc(5, this.int(20));
        inc(6, writes * PAGE * (1 + this.int(16)));
        inc(7, writes * 0.0009 * r(), 3);
        if (d[8] !== undefined) d[8] = r() < 0.05 ? 1 : 0;
        inc(9, (reads + writes) * 0.0002, 3);
        inc(10, (reads + writes) * 0.0003, 3);
        if (r() < 0.01) {
          inc(11, 1);
          inc(13, PAGE * 256);
          inc(14, 0.002, 3);
        }
        inc(15, writes > 30 ? 1 : 0);
        inc(16, writes > 30 ? 0.001 : 0, 3);
      }
    }
    if (s.net) {
      for (const d of Object.values(s.net)) {
        const rx = 20 + this.int(400);
        const tx = 20 + this.int(300);
        d[0] = d[0]! + rx * (60 + this.int(1400));
        d[1] = d[1]! + rx;
        if (r() < 0.01 && d[3] !== undefined) d[3] += 1;
        d[8] = d[8]! + tx * (60 + this.int(1400));
        d[9] = d[9]! + tx;
      }
    }
    if (s.nstat) {
      for (const k of Object.keys(s.nstat)) {
        const v = s.nstat[k]!;
        if (['Ip_Forwarding', 'Ip_DefaultTTL', 'Tcp_RtoAlgorithm', 'Tcp_RtoMin', 'Tcp_RtoMax', 'Tcp_MaxConn'].includes(k)) continue;
        if (k === 'Tcp_CurrEstab') s.nstat[k] = Math.max(0, v + this.int(3) - 1);
        else if (v !== 0) s.nstat[k] = v + this.int(v > 1e8 ? 400_000 : v > 1e6 ? 600 : 4);
      }
    }
    if (s.sock) {
      for (const k of Object.keys(s.sock)) {
        const v = s.sock[k]!;
        if (v !== 0) s.sock[k] = Math.max(0, v + (k.endsWith('bytes') ? (this.int(3) - 1) * PAGE : this.int(3) - 1));
      }
    }
    for (const e of s.fs ?? []) {
      if (e.free !== undefined && e.avail !== undefined && e.size !== undefined) {
        const d = (this.int(200) - 100) * PAGE;
        e.free = Math.min(e.size, Math.max(0, e.free + d));
        e.avail = Math.min(e.size, Math.max(0, e.avail + d));
      }
      if (e.ffree !== undefined) e.ffree += this.int(5) - 2;
    }
    for (const kinds of Object.values(s.psi ?? {})) {
      for (const l of [kinds?.some, kinds?.full]) {
        if (!l) continue;
        l[0] = Math.round(r() * 0.05 * 1e4) / 1e4;
        l[1] = Math.round((l[1] * 0.9 + l[0] * 0.1) * 1e4) / 1e4;
        l[2] = Math.round((l[2] * 0.98 + l[0] * 0.02) * 1e4) / 1e4;
        l[3] = Math.round((l[3] + l[0] * iv) * 1e6) / 1e6;
      }
    }
    if (s.fd) s.fd.alloc = Math.max(0, s.fd.alloc + this.int(9) - 4);
    if (s.perf) {
      for (const counts of [s.perf, ...Object.values(s.perf.cg ?? {})]) {
        for (const c of Object.values(counts.c)) {
          for (let i = 0; i < c.length; i++) {
            if (c[i] === null || c[i] === undefined) continue;
            const ev = s.perf.ev[i] ?? '';
            c[i] = ev.endsWith('clock') ? Math.round((c[i]! + iv * r()) * 1e6) / 1e6 : c[i]! + this.int(ev.includes('miss') ? 1e5 : 1e8);
          }
        }
      }
    }
    return JSON.parse(JSON.stringify(s)) as Snapshot;
  }
}

/** n snapshots of one host at intervalMs from t0. */
export function simulate(base: Snapshot, host: string, t0: number, n: number, opts: { seed?: number; intervalMs?: number } = {}): Snapshot[] {
  const sim = new HostSim(base, host, opts.seed ?? 1, opts.intervalMs ?? 5_000);
  return Array.from({ length: n }, (_, i) => sim.next(t0 + i * (opts.intervalMs ?? 5_000)));
}
