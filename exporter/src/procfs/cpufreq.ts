// /sys/devices/system/cpu/cpu<N>/cpufreq: CPU frequency scaling, frequencies in kHz.
// https://www.kernel.org/doc/html/latest/admin-guide/pm/cpufreq.html
// cpuinfo_cur_freq is readable by root only; where it cannot be read its value is absent.
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

const FILES = [
  ['cur', 'cpuinfo_cur_freq'], ['min', 'cpuinfo_min_freq'], ['max', 'cpuinfo_max_freq'],
  ['scur', 'scaling_cur_freq'], ['smin', 'scaling_min_freq'], ['smax', 'scaling_max_freq'],
] as const;

/** Every CPU that has a cpufreq directory (none in most VMs); ENOENT without the cpu directory. */
export function readCpufreq(sysRoot: string): CpuFreq[] {
  const base = join(sysRoot, 'devices/system/cpu');
  const out: CpuFreq[] = [];
  for (const entry of listDir(base)) {
    const cpu = /^cpu(\d+)$/.exec(entry)?.[1];
    if (cpu === undefined) continue;
    const dir = join(base, entry, 'cpufreq');
    const f: CpuFreq = { cpu };
    for (const [key, file] of FILES) {
      const khz = readAttr(join(dir, file), parseSysfsInteger);
      if (khz !== undefined) f[key] = khz * 1000;
    }
    const gov = readAttr(join(dir, 'scaling_governor'), parseSysfsString);
    if (gov !== undefined) f.governor = gov;
    if (Object.keys(f).length > 1) out.push(f);
  }
  return out;
}
