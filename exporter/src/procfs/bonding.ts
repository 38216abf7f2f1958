// Linux bonding driver state in sysfs (Documentation/networking/bonding.rst, "Configuring Bonding
// Manually via Sysfs"): /sys/class/net/bonding_masters lists the bonds, <bond>/bonding/slaves
// their slaves, and <slave>/bonding_slave/mii_status says whether each link is up.
import { join } from 'node:path';
import { parseSysfsList, parseSysfsString, readAttr } from './sysfs.js';

export interface Bond {
  master: string;
  slaves: number;
  /** slaves whose MII status is up. */
  active: number;
}

/** Every bond; ENOENT when the bonding driver is not loaded (no bonding_masters). */
export function readBonding(sysRoot: string): Bond[] {
  const base = join(sysRoot, 'class/net');
  const masters = readAttr(join(base, 'bonding_masters'), parseSysfsList);
  if (masters === undefined) throw Object.assign(new Error(`${join(base, 'bonding_masters')}: no such file`), { code: 'ENOENT' });
  return masters.map((master) => {
    const slaves = readAttr(join(base, master, 'bonding/slaves'), parseSysfsList) ?? [];
    const active = slaves.filter((s) => readAttr(join(base, s, 'bonding_slave/mii_status'), parseSysfsString) === 'up').length;
    return { master, slaves: slaves.length, active };
  });
}
