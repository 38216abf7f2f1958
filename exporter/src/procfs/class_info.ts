// Identity attributes of sysfs classes that node_exporter turns into info metrics:
// /sys/class/nvme/nvme<N>/{model,serial,firmware_rev,state} (Documentation/ABI/testing/sysfs-class-nvme)
// and /sys/class/dmi/id/* (the SMBIOS tables, drivers/firmware/dmi-id.c; serials and the UUID are
// readable by root only, and then absent). Values are trimmed: the NVMe strings are space-padded.
import { join } from 'node:path';
import { listDir, parseSysfsLine, readAttr } from './sysfs.js';

export interface NvmeController {
  device: string;
  model?: string;
  serial?: string;
  firmware?: string;
  state?: string;
}

const text = (file: string) => {
  const v = readAttr(file, parseSysfsLine)?.trim();
  return v === undefined || v === '' ? undefined : v;
};

/** Every NVMe controller; ENOENT without the nvme class. */
export function readNvme(sysRoot: string): NvmeController[] {
  const base = join(sysRoot, 'class/nvme');
  const out: NvmeController[] = [];
  for (const device of listDir(base)) {
    if (!/^nvme\d+$/.test(device)) continue;
    const c: NvmeController = { device };
    for (const [k, f] of [['model', 'model'], ['serial', 'serial'], ['firmware', 'firmware_rev'], ['state', 'state']] as const) {
      const v = text(join(base, device, f));
      if (v !== undefined) c[k] = v;
    }
    out.push(c);
  }
  return out;
}

export const DMI_FIELDS = [
  'bios_date', 'bios_release', 'bios_vendor', 'bios_version', 'board_asset_tag', 'board_name', 'board_serial', 'board_vendor',
  'board_version', 'chassis_asset_tag', 'chassis_serial', 'chassis_vendor', 'chassis_version', 'product_family', 'product_name',
  'product_serial', 'product_sku', 'product_uuid', 'product_version', 'sys_vendor',
] as const;

/** The DMI fields that can be read (empty strings left out); ENOENT without /sys/class/dmi/id. */
export function readDmi(sysRoot: string): Record<string, string> {
  const dir = join(sysRoot, 'class/dmi/id');
  listDir(dir); // ENOENT when there is no DMI (most ARM machines)
  const out: Record<string, string> = {};
  for (const f of DMI_FIELDS) {
    const v = text(join(dir, f));
    if (v !== undefined) out[f] = v;
  }
  return out;
}
