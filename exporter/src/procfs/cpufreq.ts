// /sys/devices/system/cpu/cpu<N>/cpufreq: CPU frequency scaling, frequencies in kHz.
// https://www.kernel.org/doc/html/latest/admin-guide/pm/cpufreq.html
// cpuinfo_cur_freq is readable by root only (and intel_pstate has none); where it cannot be read
// its value is absent. discoverCpufreq reads the limits and the governor, which change only when
// someone reconfigures the machine; readCpufreqValues the two current frequencies.
import { join } from 'node:path';
import { listDir, parseSysfsInteger, parseSysfsString, readAttr } from './sysfs.js';

export interface CpuFreq {
  cpu: string;
  /** hertz */
  cur?: number;
  min?: number;
  max?: number;
  scur?: number;
  smin?: number;
  smax?: number;
  governor?: string;
}

export interface CpuFreqPlan {
  /** the limits and governor as discovered. */
  fixed: CpuFreq;
  /** the current-frequency files that could be read at discovery. */
  cur?: string;
  scur?: string;
}

const LIMITS = [['min', 'cpuinfo_min_freq'], ['max', 'cpuinfo_max_freq'], ['smin', 'scaling_min_freq'], ['smax', 'scaling_max_freq']] as const;

const khz = (file: string) => {
  const v = readAttr(file, parseSysfsInteger);
  return v === undefined ? undefined : v * 1000;
};

/** Every CPU that has a cpufreq directory (none in most VMs); ENOENT without the cpu directory. */
export function discoverCpufreq(sysRoot: string): CpuFreqPlan[] {
  const base = join(sysRoot, 'devices/system/cpu');
  const out: CpuFreqPlan[] = [];
  for (const entry of listDir(base)) {
    const cpu = /^cpu(\d+)$/.exec(entry)?.[1];
    if (cpu === undefined) continue;
    const dir = join(base, entry, 'cpufreq');
    const p: CpuFreqPlan = { fixed: { cpu } };
    for (const [key, file] of LIMITS) {
      const hz = khz(join(dir, file));
      if (hz !== undefined) p.fixed[key] = hz;
    }
    const gov = readAttr(join(dir, 'scaling_governor'), parseSysfsString);
    if (gov !== undefined) p.fixed.governor = gov;
    if (khz(join(dir, 'cpuinfo_cur_freq')) !== undefined) p.cur = join(dir, 'cpuinfo_cur_freq');
    if (khz(join(dir, 'scaling_cur_freq')) !== undefined) p.scur = join(dir, 'scaling_cur_freq');
    if (Object.keys(p.fixed).length > 1 || p.cur || p.scur) out.push(p);
  }
  return out;
}

export function readCpufreqValues(plan: readonly CpuFreqPlan[]): CpuFreq[] {
  return plan.map((p) => {
    const f: CpuFreq = { ...p.fixed };
    const cur = p.cur === undefined ? undefined : khz(p.cur);
    const scur = p.scur === undefined ? undefined : khz(p.scur);
    if (cur !== undefined) f.cur = cur;
    if (scur !== undefined) f.scur = scur;
    return f;
  });
}

export function readCpufreq(sysRoot: string): CpuFreq[] {
  return readCpufreqValues(discoverCpufreq(sysRoot));
}
