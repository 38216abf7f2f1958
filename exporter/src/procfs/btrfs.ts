// /sys/fs/btrfs/<uuid>: every mounted btrfs filesystem (Documentation/ABI/testing/sysfs-fs-btrfs):
// `label`, `allocation/{data,metadata,system}/{total_bytes,bytes_used,bytes_reserved,disk_total,disk_used}`
// (bytes; disk_* count every RAID copy), `allocation/global_rsv_size`, and `devices/<name>/size`
// (the member block device's size in 512-byte sectors, through the symlink to it).
import { join } from 'node:path';
import { listDir, parseSysfsInteger, parseSysfsLine, readAttr } from './sysfs.js';

export const BTRFS_GROUPS = ['data', 'metadata', 'system'] as const;
export const BTRFS_FIELDS = ['total_bytes', 'bytes_used', 'bytes_reserved', 'disk_total', 'disk_used'] as const;

export interface BtrfsFs {
  uuid: string;
  label: string;
  globalRsv?: number;
  /** block group type -> BTRFS_FIELDS values (undefined where the kernel lacks one). */
  groups: Record<string, (number | undefined)[]>;
  /** member device -> bytes. */
  devices: Record<string, number>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every mounted btrfs; ENOENT without the btrfs module (no /sys/fs/btrfs). */
export function readBtrfs(sysRoot: string): BtrfsFs[] {
  const base = join(sysRoot, 'fs/btrfs');
  const out: BtrfsFs[] = [];
  for (const uuid of listDir(base)) {
    if (!UUID.test(uuid)) continue; // features/
    const dir = join(base, uuid);
    const fs: BtrfsFs = { uuid, label: readAttr(join(dir, 'label'), parseSysfsLine)?.trim() ?? '', groups: {}, devices: {} };
    const rsv = readAttr(join(dir, 'allocation/global_rsv_size'), parseSysfsInteger);
    if (rsv !== undefined) fs.globalRsv = rsv;
    for (const g of BTRFS_GROUPS) {
      const vals = BTRFS_FIELDS.map((f) => readAttr(join(dir, 'allocation', g, f), parseSysfsInteger));
      if (vals.some((v) => v !== undefined)) fs.groups[g] = vals;
    }
    let devs: string[] = [];
    try {
      devs = listDir(join(dir, 'devices'));
    } catch {
      // a kernel without the devices directory
    }
    for (const d of devs) {
      const sectors = readAttr(join(dir, 'devices', d, 'size'), parseSysfsInteger);
      if (sectors !== undefined) fs.devices[d] = sectors * 512;
    }
    out.push(fs);
  }
  return out;
}
