/**
 * The `derived` values of a live snapshot message, computed against the host's previous
 * snapshot: the same formulas as the catalog's derived metrics (store/src/catalog.ts
 * DERIVED_METRICS), summed over the host's CPUs instead of per CPU.
 *  - cpu_utilisation_ratio: 1 - Δ(idle + iowait) / Δ(all modes) of cpu.t;
 *  - instructions_per_cycle: Δ instructions / Δ cpu-cycles of perf.c, over the CPUs that counted
 *    both in both snapshots.
 * null when not computable: no previous snapshot, time did not advance, the counters are absent
 * (no PMU: perf reports cycles `null`), or every CPU's counter went backwards (a reboot, an
 * exporter restart: perf counters start at 0 when opened).
 */
import { CPU_MODES, type Snapshot } from '@perfwatch/store';

export interface Derived {
  cpu_utilisation_ratio: number | null;
  instructions_per_cycle: number | null;
}

/** Positions of idle and iowait in cpu.t (docs/snapshot.md). */
const IDLE = CPU_MODES.indexOf('idle');
const IOWAIT = CPU_MODES.indexOf('iowait');

export function cpuUtilisation(prev: Snapshot | null | undefined, cur: Snapshot): number | null {
  const a = prev?.cpu?.t;
  const b = cur.cpu?.t;
  if (!prev || !a || !b || cur.ts <= prev.ts) return null;
  let idle = 0;
  let total = 0;
  for (const [id, now] of Object.entries(b)) {
    const before = a[id];
    if (!Array.isArray(before) || !Array.isArray(now)) continue;
    let cpuIdle = 0;
    let cpuTotal = 0;
    let reset = false;
    const n = Math.min(before.length, now.length);
    for (let i = 0; i < n; i++) {
      const d = now[i]! - before[i]!;
      if (!Number.isFinite(d)) continue;
      // iowait may step back a little on some kernels; a large step back is a reboot.
      if (d < 0) {
        if (i !== IOWAIT) reset = true;
        continue;
      }
      cpuTotal += d;
      if (i === IDLE || i === IOWAIT) cpuIdle += d;
    }
    if (reset || cpuTotal <= 0) continue;
    idle += cpuIdle;
    total += cpuTotal;
  }
  if (total <= 0) return null;
  return Math.min(1, Math.max(0, 1 - idle / total));
}

function eventIndex(ev: readonly string[], names: readonly string[]): number {
  for (const n of names) {
    const i = ev.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

export function instructionsPerCycle(prev: Snapshot | null | undefined, cur: Snapshot): number | null {
  const a = prev?.perf;
  const b = cur.perf;
  if (!prev || !a?.ev || !a.c || !b?.ev || !b.c || cur.ts <= prev.ts) return null;
  const ia = { ins: eventIndex(a.ev, ['instructions']), cyc: eventIndex(a.ev, ['cpu-cycles', 'cycles']) };
  const ib = { ins: eventIndex(b.ev, ['instructions']), cyc: eventIndex(b.ev, ['cpu-cycles', 'cycles']) };
  if (ia.ins < 0 || ia.cyc < 0 || ib.ins < 0 || ib.cyc < 0) return null;
  let ins = 0;
  let cyc = 0;
  for (const [id, now] of Object.entries(b.c)) {
    const before = a.c[id];
    if (!before) continue;
    const i0 = before[ia.ins];
    const c0 = before[ia.cyc];
    const i1 = now[ib.ins];
    const c1 = now[ib.cyc];
    if (typeof i0 !== 'number' || typeof c0 !== 'number' || typeof i1 !== 'number' || typeof c1 !== 'number') continue;
    const di = i1 - i0;
    const dc = c1 - c0;
    if (!(di >= 0) || !(dc >= 0)) continue;
    ins += di;
    cyc += dc;
  }
  return cyc > 0 ? ins / cyc : null;
}

export function derive(prev: Snapshot | null | undefined, cur: Snapshot): Derived {
  return { cpu_utilisation_ratio: cpuUtilisation(prev, cur), instructions_per_cycle: instructionsPerCycle(prev, cur) };
}
