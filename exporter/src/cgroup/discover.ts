/**
 * Where the cgroups are: the unified hierarchy at <sys>/fs/cgroup when it has cgroup.controllers
 * (cgroup v2, "unified" mode), else the v1 hierarchies of the controllers read here (cpuacct,
 * cpu, memory, blkio, pids; "legacy" and "hybrid" modes, where the v2 mount at
 * fs/cgroup/unified has no controllers). Found again at every collection, so a new container
 * shows at once: the walk goes through the native addon's listDirs where it is built (one
 * getdents(2) per group; readdirSync's Dirent per control file made 200 groups cost ~4 ms), else
 * readdirSync. On a hybrid host the PSI files of a group are read from fs/cgroup/unified at the
 * same path, where systemd mirrors its units.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listDirs, listDirsAvailable } from '@perfwatch/native';

export const V1_CONTROLLERS = ['cpuacct', 'cpu', 'memory', 'blkio', 'pids'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export type CgroupLayout =
  | { version: 2; root: string }
  /** controller -> its hierarchy's mount point (cpu and cpuacct are often the same "cpu,cpuacct"). */
  | {
      version: 1;
      roots: Partial<Record<V1Controller, string>>;
      /** the hybrid layout's v2 mount (fs/cgroup/unified): no controllers, but PSI per group where
       *  systemd mirrors its units there; its groups are not discovered on their own. */
      unified?: string;
    };

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** undefined where sysfs has no cgroup hierarchy with these controllers. */
export function detectLayout(sysRoot: string): CgroupLayout | undefined {
  const base = join(sysRoot, 'fs/cgroup');
  if (existsSync(join(base, 'cgroup.controllers'))) return { version: 2, root: base };
  const roots: Partial<Record<V1Controller, string>> = {};
  for (const c of V1_CONTROLLERS) {
    const p = join(base, c);
    // cpu and cpuacct are usually links to one "cpu,cpuacct" hierarchy: walked once
    if (isDir(p)) roots[c] = realpathSync(p);
  }
  if (!Object.keys(roots).length) return undefined;
  const unified = join(base, 'unified');
  return existsSync(join(unified, 'cgroup.procs')) ? { version: 1, roots, unified } : { version: 1, roots };
}

const nativeWalk = listDirsAvailable();

/** Every cgroup under root as a path relative to it ("/system.slice/nginx.service"), the root
 *  itself left out (the host metrics cover it). */
export function walkCgroups(root: string, into: Set<string> = new Set()): Set<string> {
  if (nativeWalk) {
    for (const p of listDirs(root)) into.add(p);
    return into;
  }
  return walkCgroupsFs(root, into);
}

/** walkCgroups through readdirSync: where the addon is not built (and in tests). */
export function walkCgroupsFs(root: string, into: Set<string> = new Set()): Set<string> {
  const visit = (dir: string, rel: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      // a group removed while we walk is simply gone
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const subs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    for (const name of subs) {
      const r = `${rel}/${name}`;
      into.add(r);
      visit(join(dir, name), r);
    }
  };
  visit(root, '');
  return into;
}

/** The cgroups of a layout: v1's are the union over its hierarchies. */
export function discoverCgroups(layout: CgroupLayout): string[] {
  if (layout.version === 2) return [...walkCgroups(layout.root)].sort();
  const all = new Set<string>();
  const seen = new Set<string>();
  for (const root of Object.values(layout.roots)) {
    if (seen.has(root)) continue;
    seen.add(root);
    walkCgroups(root, all);
  }
  return [...all].sort();
}
