import { readFileSync } from 'node:fs';

const AT_PAGESZ = 6n;
let cached: number | undefined;

/**
 * The kernel's page size, from this process's ELF auxiliary vector (Node has no getpagesize()).
 * It is the running kernel's own value even when /proc of another host is mounted elsewhere.
 */
export function pageSize(): number {
  if (cached !== undefined) return cached;
  cached = 4096;
  try {
    const buf = readFileSync('/proc/self/auxv');
    for (let off = 0; off + 16 <= buf.length; off += 16) {
      const type = buf.readBigUInt64LE(off);
      if (type === 0n) break;
      if (type === AT_PAGESZ) {
        cached = Number(buf.readBigUInt64LE(off + 8));
        break;
      }
    }
  } catch {
    // Not Linux, or /proc not mounted: 4096 is right on x86-64 and the usual arm64 kernels.
  }
  return cached;
}
