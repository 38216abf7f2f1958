import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsEntry } from '@perfwatch/store/snapshot';
import { readMounts } from '../procfs/mounts.js';
import { errorMessage } from '../errors.js';
import type { CollectorDefinition } from './types.js';

const TIMED_OUT = Symbol('timed out');

/**
 * Sizes of every real mount. statfs on a hung NFS or FUSE mount blocks in the kernel, and a
 * libuv thread with it, for as long as the server is gone. So each statfs is raced against a
 * timeout, and a mount whose statfs has not come back is remembered as stuck and not asked again
 * until it answers: a dead server costs one thread, never a scrape (node_exporter does the same).
 */
export const filesystem: CollectorDefinition = {
  name: 'filesystem',
  defaultEnabled: true,
  description: 'size, free, available bytes and inodes of every real mount (statfs, bounded by PERFWATCH_FS_TIMEOUT_SECONDS)',
  create: (_config, log) => {
    const stuck = new Set<string>();
    return {
      async collect(ctx) {
        const { procRoot, rootfs, fsMountExclude, fsTypeExclude, fsTimeoutSeconds } = ctx.config;
        // A later mount on the same point hides the earlier one: keep the last.
        const mounts = new Map<string, { device: string; fsType: string; options: string[] }>();
        const all = ctx.optional('self/mounts', () => readMounts(procRoot));
        if (!all) return {};
        for (const m of all) {
          if (fsTypeExclude.test(m.fsType) || fsMountExclude.test(m.mountPoint)) continue;
          mounts.delete(m.mountPoint);
          mounts.set(m.mountPoint, m);
        }
        const fs = await Promise.all(
          [...mounts].map(async ([mp, m]): Promise<FsEntry> => {
            const entry: FsEntry = { dev: m.device, mp, type: m.fsType, ro: m.options.includes('ro') };
            const path = join(rootfs, mp);
            if (stuck.has(path)) {
              entry.err = `statfs still hung since an earlier collection (over ${fsTimeoutSeconds}s)`;
              return entry;
            }
            let timer: NodeJS.Timeout | undefined;
            const call = statfs(path);
            const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
              timer = setTimeout(resolve, fsTimeoutSeconds * 1000, TIMED_OUT);
            });
            try {
              const s = await Promise.race([call, timeout]);
              if (s === TIMED_OUT) {
                stuck.add(path);
                log.warn({ mountpoint: mp, fstype: m.fsType }, 'statfs timed out; skipping this mount until it answers');
                call.then(
                  () => stuck.delete(path),
                  () => stuck.delete(path),
                );
                entry.err = `statfs timed out after ${fsTimeoutSeconds}s`;
                return entry;
              }
              entry.size = s.blocks * s.bsize;
              entry.free = s.bfree * s.bsize;
              entry.avail = s.bavail * s.bsize;
              entry.files = s.files;
              entry.ffree = s.ffree;
            } catch (err) {
              entry.err = `statfs failed: ${errorMessage(err)}`;
            } finally {
              clearTimeout(timer);
            }
            return entry;
          }),
        );
        return { fs };
      },
    };
  },
};
