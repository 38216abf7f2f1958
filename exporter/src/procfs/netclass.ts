// /sys/class/net/<iface>: link state of each network interface (Documentation/ABI/testing/sysfs-class-net,
// https://www.kernel.org/doc/Documentation/ABI/testing/sysfs-class-net). `speed` (Mbit/s) and
// `duplex` answer EINVAL while the link is down and virtual drivers print -1 for an unknown speed;
// `carrier` answers EINVAL while the interface is administratively down. Those are absent.
import { join } from 'node:path';
import { listDir, parseSysfsInteger, parseSysfsString, readAttr } from './sysfs.js';

export interface NetClass {
  device: string;
  operstate: string;
  address?: string;
  duplex?: string;
  /** bytes per second */
  speed?: number;
  carrier?: number;
  mtu?: number;
  carrierChanges?: number;
}

/**
 * Every interface (entries of class/net that have an operstate); ENOENT without the class.
 * `addresses`: hardware addresses already known (a collector's once-a-minute discovery), so they
 * are not read again; an interface missing from it is read. Speed and duplex are not asked of a
 * link that is down: the kernel answers EINVAL (administratively down) or "unknown" and -1.
 */
export function readNetClass(sysRoot: string, exclude?: RegExp, addresses?: ReadonlyMap<string, string>): NetClass[] {
  const base = join(sysRoot, 'class/net');
  const out: NetClass[] = [];
  for (const device of listDir(base)) {
    if (exclude?.test(device)) continue;
    const dir = join(base, device);
    // bonding_masters is a file, not an interface
    const operstate = readAttr(join(dir, 'operstate'), parseSysfsString);
    if (operstate === undefined) continue;
    const e: NetClass = { device, operstate };
    const address = addresses?.get(device) ?? readAttr(join(dir, 'address'), parseSysfsString);
    const linked = operstate !== 'down' && operstate !== 'lowerlayerdown' && operstate !== 'notpresent';
    const duplex = linked ? readAttr(join(dir, 'duplex'), parseSysfsString) : undefined;
    const speed = linked ? readAttr(join(dir, 'speed'), parseSysfsInteger) : undefined;
    const carrier = readAttr(join(dir, 'carrier'), parseSysfsInteger);
    const mtu = readAttr(join(dir, 'mtu'), parseSysfsInteger);
    const cc = readAttr(join(dir, 'carrier_changes'), parseSysfsInteger);
    if (address !== undefined) e.address = address;
    if (duplex !== undefined) e.duplex = duplex;
    if (speed !== undefined && speed >= 0) e.speed = speed * 125_000;
    if (carrier !== undefined) e.carrier = carrier;
    if (mtu !== undefined) e.mtu = mtu;
    if (cc !== undefined) e.carrierChanges = cc;
    out.push(e);
  }
  return out;
}

/** interface -> hardware address, for readNetClass's `addresses`. */
export function readNetAddresses(sysRoot: string, exclude?: RegExp): Map<string, string> {
  const base = join(sysRoot, 'class/net');
  const out = new Map<string, string>();
  for (const device of listDir(base)) {
    if (exclude?.test(device)) continue;
    const address = readAttr(join(base, device, 'address'), parseSysfsString);
    if (address !== undefined) out.set(device, address);
  }
  return out;
}
