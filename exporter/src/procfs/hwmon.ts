// /sys/class/hwmon/hwmon*: hardware monitoring chips (Documentation/hwmon/sysfs-interface.rst,
// https://www.kernel.org/doc/html/latest/hwmon/sysfs-interface.html). Each chip has a `name` and
// attributes `<type><n>_<item>`: temp (millidegree Celsius), in (millivolt), curr (milliampere),
// power (microwatt), energy (microjoule), fan (RPM); `_label` is text, `_alarm` 0/1. Old drivers
// put the attributes in the parent device's directory (`device/`) instead.
//
// discoverHwmon reads what does not move (chips, names, labels, thresholds) and lists the files
// that do (`_input`/`_average`, `_alarm`); readHwmonValues reads only those.
import { readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { listDir, naturalCompare, parseSysfsInteger, parseSysfsString, readAttr } from './sysfs.js';

export interface HwmonSensorValues {
  label?: string;
  /** `_input` (power: `_input`, else `_average`), in base units. */
  input?: number;
  min?: number;
  max?: number;
  crit?: number;
  alarm?: number;
}

export interface HwmonChipValues {
  /** the label node_exporter gives the chip: "<bus>_<device>" of the `device` link, else `name`, else hwmonN. */
  chip: string;
  name?: string;
  /** "temp1" -> values; sensors in natural order. */
  sensors: Map<string, HwmonSensorValues>;
}

export interface HwmonSensorPlan {
  sensor: string;
  /** divisor from the kernel's unit to the base unit. */
  scale: number;
  /** label and thresholds as discovered. */
  fixed: HwmonSensorValues;
  /** the value file (`_input`, else `_average`) and the alarm file, read every time. */
  input?: string;
  alarm?: string;
}

export interface HwmonChipPlan {
  chip: string;
  name?: string;
  sensors: HwmonSensorPlan[];
}

/** Divisor from the kernel's unit to the base unit, per sensor type. */
export const HWMON_SCALE: Record<string, number> = { temp: 1000, in: 1000, curr: 1000, power: 1e6, energy: 1e6, fan: 1 };

const ATTR = /^(temp|in|curr|power|energy|fan)(\d+)_(input|average|min|max|crit|alarm|label)$/;

/** node_exporter's cleanMetricName: lower case, [^a-z0-9:_] -> "_", trimmed of "_". */
export function cleanName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9:_]/g, '_').replace(/^_+|_+$/g, '');
}

/**
 * The chip label from the resolved `device` path: /sys/devices/platform/coretemp.0 ->
 * "platform_coretemp_0", .../nvme/nvme0 -> "nvme_nvme0"; node_exporter's, so dashboards match.
 */
export function chipLabel(devicePath: string | undefined, name: string | undefined, dir: string): string {
  if (devicePath !== undefined) {
    const dev = cleanName(basename(devicePath));
    const type = cleanName(basename(dirname(devicePath)));
    if (dev && type) return `${type}_${dev}`;
    if (dev) return dev;
  }
  if (name !== undefined && cleanName(name)) return cleanName(name);
  return basename(dir);
}

function sensorsIn(dir: string): HwmonSensorPlan[] {
  let entries: string[];
  try {
    entries = listDir(dir);
  } catch {
    return [];
  }
  const byKey = new Map<string, HwmonSensorPlan & { average?: string }>();
  for (const entry of entries) {
    const m = ATTR.exec(entry);
    if (!m) continue;
    const [, type, n, item] = m as unknown as [string, string, string, string];
    const key = `${type}${n}`;
    const file = join(dir, entry);
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { sensor: key, scale: HWMON_SCALE[type]!, fixed: {} }));
    if (item === 'label') {
      const label = readAttr(file, parseSysfsString);
      if (label !== undefined) s.fixed.label = label;
    } else if (item === 'input') s.input = file;
    else if (item === 'average') s.average = file;
    else if (item === 'alarm') s.alarm = file;
    else {
      const raw = readAttr(file, parseSysfsInteger);
      if (raw !== undefined) s.fixed[item as 'min' | 'max' | 'crit'] = raw / s.scale;
    }
  }
  const out: HwmonSensorPlan[] = [];
  for (const { average, ...s } of byKey.values()) {
    if (s.input === undefined && average !== undefined) s.input = average;
    if (s.input !== undefined || s.alarm !== undefined || Object.keys(s.fixed).length) out.push(s);
  }
  return out.sort((a, b) => naturalCompare(a.sensor, b.sensor));
}

function devicePathOf(dir: string): string | undefined {
  try {
    readlinkSync(join(dir, 'device'));
    return realpathSync(join(dir, 'device'));
  } catch {
    return undefined;
  }
}

/** Every chip under <sysRoot>/class/hwmon; ENOENT when the kernel has no hwmon class. */
export function discoverHwmon(sysRoot: string): HwmonChipPlan[] {
  const base = join(sysRoot, 'class/hwmon');
  const chips: HwmonChipPlan[] = [];
  const used = new Set<string>();
  for (const entry of listDir(base)) {
    if (!/^hwmon\d+$/.test(entry)) continue;
    const dir = join(base, entry);
    const name = readAttr(join(dir, 'name'), parseSysfsString);
    let sensors = sensorsIn(dir);
    if (sensors.length === 0) sensors = sensorsIn(join(dir, 'device'));
    let label = chipLabel(devicePathOf(dir), name, dir);
    // two chips of one driver without a device link (two acpitz): keep both apart
    if (used.has(label)) label = `${label}_${entry}`;
    used.add(label);
    const chip: HwmonChipPlan = { chip: label, sensors };
    if (name !== undefined) chip.name = name;
    chips.push(chip);
  }
  return chips;
}

/** The values of a discovery: fixed attributes as discovered, inputs and alarms read now. A
 *  sensor whose files all fail to read (a chip gone since) is left out. */
export function readHwmonValues(plan: readonly HwmonChipPlan[]): HwmonChipValues[] {
  return plan.map((c) => {
    const sensors = new Map<string, HwmonSensorValues>();
    for (const s of c.sensors) {
      const v: HwmonSensorValues = { ...s.fixed };
      if (s.input !== undefined) {
        const raw = readAttr(s.input, parseSysfsInteger);
        if (raw !== undefined) v.input = raw / s.scale;
      }
      if (s.alarm !== undefined) {
        const raw = readAttr(s.alarm, parseSysfsInteger);
        if (raw !== undefined) v.alarm = raw;
      }
      if (Object.keys(v).length) sensors.set(s.sensor, v);
    }
    const out: HwmonChipValues = { chip: c.chip, sensors };
    if (c.name !== undefined) out.name = c.name;
    return out;
  });
}

/** Discovery and values at once. */
export function readHwmon(sysRoot: string): HwmonChipValues[] {
  return readHwmonValues(discoverHwmon(sysRoot));
}
