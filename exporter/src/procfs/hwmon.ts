// /sys/class/hwmon/hwmon*: hardware monitoring chips (Documentation/hwmon/sysfs-interface.rst,
// https://www.kernel.org/doc/html/latest/hwmon/sysfs-interface.html). Each chip has a `name` and
// attributes `<type><n>_<item>`: temp (millidegree Celsius), in (millivolt), curr (milliampere),
// power (microwatt), energy (microjoule), fan (RPM); `_label` is text, `_alarm` 0/1. Old drivers
// put the attributes in the parent device's directory (`device/`) instead.
import { readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { listDir, parseSysfsInteger, parseSysfsString, readAttr } from './sysfs.js';

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

function sensorsIn(dir: string): Map<string, HwmonSensorValues> {
  const sensors = new Map<string, HwmonSensorValues>();
  let entries: string[];
  try {
    entries = listDir(dir);
  } catch {
    return sensors;
  }
  for (const entry of entries) {
    const m = ATTR.exec(entry);
    if (!m) continue;
    const [, type, n, item] = m as unknown as [string, string, string, string];
    const key = `${type}${n}`;
    const file = join(dir, entry);
    let s = sensors.get(key);
    if (!s) sensors.set(key, (s = {}));
    if (item === 'label') {
      const label = readAttr(file, parseSysfsString);
      if (label !== undefined) s.label = label;
      continue;
    }
    const raw = readAttr(file, parseSysfsInteger);
    if (raw === undefined) continue;
    if (item === 'alarm') s.alarm = raw;
    else if (item === 'average') s.input ??= raw / HWMON_SCALE[type]!;
    else if (item === 'input') s.input = raw / HWMON_SCALE[type]!;
    else s[item as 'min' | 'max' | 'crit'] = raw / HWMON_SCALE[type]!;
  }
  // a sensor whose every read failed says nothing
  for (const [k, s] of sensors) if (Object.keys(s).length === 0) sensors.delete(k);
  return new Map([...sensors].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
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
export function readHwmon(sysRoot: string): HwmonChipValues[] {
  const base = join(sysRoot, 'class/hwmon');
  const chips: HwmonChipValues[] = [];
  const used = new Set<string>();
  for (const entry of listDir(base)) {
    if (!/^hwmon\d+$/.test(entry)) continue;
    const dir = join(base, entry);
    const name = readAttr(join(dir, 'name'), parseSysfsString);
    let sensors = sensorsIn(dir);
    if (sensors.size === 0) sensors = sensorsIn(join(dir, 'device'));
    let label = chipLabel(devicePathOf(dir), name, dir);
    // two chips of one driver without a device link (two acpitz): keep both apart
    if (used.has(label)) label = `${label}_${entry}`;
    used.add(label);
    const chip: HwmonChipValues = { chip: label, sensors };
    if (name !== undefined) chip.name = name;
    chips.push(chip);
  }
  return chips;
}
