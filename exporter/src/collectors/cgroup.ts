import type { CgroupEntry, CgroupSection } from '@perfwatch/store/snapshot';
import { cgroupName, type CgroupName } from '../cgroup/names.js';
import { detectLayout, discoverCgroups } from '../cgroup/discover.js';
import { readDockerConfig, type DockerContainer } from '../cgroup/docker.js';
import { CgroupReader, DeviceNames, LimitCache } from '../cgroup/read.js';
import type { ExporterConfig } from '../config.js';
import type { Logger } from '../log.js';
import { REDISCOVER_MS } from './plan.js';
import type { CollectorDefinition } from './types.js';

/**
 * Which groups get their own series when more than `max` pass the regexes: named ones first
 * (containers, pods, systemd units), then the shallower, then by path, so the choice is stable
 * from one collection to the next and does not follow whoever is busiest (which would churn series).
 */
export function selectCgroups(paths: { path: string; named: boolean }[], max: number): { kept: string[]; rest: string[] } {
  if (paths.length <= max) return { kept: paths.map((p) => p.path), rest: [] };
  const depth = (p: string) => p.split('/').length;
  const ordered = paths
    .map((p) => ({ ...p, d: depth(p.path) }))
    .sort((a, b) => Number(b.named) - Number(a.named) || a.d - b.d || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const kept = new Set(ordered.slice(0, max).map((p) => p.path));
  return { kept: paths.map((p) => p.path).filter((p) => kept.has(p)), rest: paths.map((p) => p.path).filter((p) => !kept.has(p)) };
}

function addPair<T extends number[]>(into: T | undefined, v: T | undefined): T | undefined {
  if (!v) return into;
  if (!into) return [...v] as T;
  return v.map((x, i) => (into[i] ?? 0) + x) as T;
}

/** The groups left over summed into one entry: values that add up only (no names, limits, PSI). */
export function sumCgroups(entries: CgroupEntry[]): CgroupEntry {
  const o: CgroupEntry = {};
  for (const e of entries) {
    if (e.cpu) o.cpu = addPair(o.cpu, e.cpu);
    if (e.thr) o.thr = addPair(o.thr, e.thr);
    if (e.pgf) o.pgf = addPair(o.pgf, e.pgf);
    for (const k of ['cpuu', 'mem', 'oom', 'oomk', 'pids'] as const) if (e[k] !== undefined) o[k] = (o[k] ?? 0) + e[k];
    if (e.ms) {
      o.ms ??= {};
      for (const [k, v] of Object.entries(e.ms) as [keyof NonNullable<CgroupEntry['ms']>, number][]) o.ms[k] = (o.ms[k] ?? 0) + v;
    }
    if (e.io) {
      o.io ??= {};
      for (const [dev, v] of Object.entries(e.io)) o.io[dev] = addPair(o.io[dev], v)!;
    }
  }
  return o;
}

function hasAncestorIn(path: string, set: Set<string>): boolean {
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) if (set.has(path.slice(0, i))) return true;
  return false;
}

/** The collector; `clock` is injectable for the bench (collections 5 s apart, run back to back). */
export function createCgroupCollector(config: ExporterConfig, log: Logger, clock: () => number = Date.now) {
  const reader = new CgroupReader(new DeviceNames(config.sysRoot), new LimitCache(REDISCOVER_MS));
  // Docker's record of each container, re-read once REDISCOVER_MS old (a rename shows within it)
  let docker = new Map<string, DockerContainer | undefined>();
  let dockerAt = -Infinity;
  const dockerOf = (id: string): DockerContainer | undefined => {
    if (!docker.has(id)) {
      let c: DockerContainer | undefined;
      try {
        c = readDockerConfig(config.rootfs, id);
      } catch (err) {
        log.warn({ id, err: (err as Error).message }, 'Docker config.v2.json not readable; the container stays unnamed');
      }
      docker.set(id, c);
    }
    return docker.get(id);
  };
  // The hierarchy's layout, found again once REDISCOVER_MS old (it changes with a reboot, or a
  // mount): detecting it stats and resolves the paths of five v1 hierarchies (~25 system calls).
  let layout: ReturnType<typeof detectLayout>;
  let layoutAt = -Infinity;
  /** The groups found (`key`: their paths joined) and what follows from them alone. */
  let groups: { key: string; all: string[]; names: Map<string, CgroupName>; kept: string[]; rest: string[]; reads: string[] } | undefined;
  const selectGroups = (key: string, found: string[]) => {
    const all = found.filter((p) => (!config.cgroupInclude || config.cgroupInclude.test(p)) && !config.cgroupExclude.test(p));
    const names = new Map(all.map((p) => [p, cgroupName(p)]));
    const { kept, rest } = selectCgroups(
      all.map((p) => ({ path: p, named: Object.keys(names.get(p)!).length > 0 })),
      config.cgroupMax,
    );
    // Counters are hierarchical (a group's include its children's): only the topmost of the
    // groups left over are summed, so none is counted twice within "other".
    const left = new Set(rest);
    const top = rest.filter((p) => !hasAncestorIn(p, left));
    const reads = [...kept, ...top];
    reader.keep(new Set(reads));
    return { key, all, names, kept, rest, reads };
  };
  return {
    close: () => reader.close(),
    collect(): { cgroups?: CgroupSection } {
      const now = clock();
      if (now - layoutAt >= REDISCOVER_MS || now < layoutAt) {
        layout = detectLayout(config.sysRoot);
        layoutAt = now;
      }
      if (!layout) return {};
      if (now - dockerAt >= REDISCOVER_MS) {
        docker = new Map();
        dockerAt = now;
      }
      const found = discoverCgroups(layout);
      // the same groups as at the last collection (most collections): the same selection
      const key = found.join('\n');
      if (key !== groups?.key) groups = selectGroups(key, found);
      const { all, names, kept, rest, reads } = groups;
      const g: Record<string, CgroupEntry> = {};
      let gone = 0;
      // one batch of reads for the kept groups and the summed ones
      const read = reader.read(layout, reads, now);
      kept.forEach((p, k) => {
        const e = read[k];
        if (!e) {
          gone++;
          return;
        }
        const n = names.get(p)!;
        const d = n.id === undefined ? undefined : dockerOf(n.id);
        const named: CgroupEntry = {};
        if (d?.name !== undefined) named.ctr = d.name;
        if (d?.image !== undefined) named.img = d.image;
        if (n.id !== undefined) named.id = n.id;
        if (n.unit !== undefined) named.unit = n.unit;
        if (n.pod !== undefined) named.pod = n.pod;
        if (n.qos !== undefined) named.qos = n.qos;
        // not { ...named, ...e }: the same, 50 times slower (cgroup/read.ts)
        g[p] = Object.assign(named, e);
      });
      const others = read.slice(kept.length).filter((e): e is CgroupEntry => e !== undefined);
      if (others.length) g.other = sumCgroups(others);
      return { cgroups: { v: layout.version, g, n: all.length - gone, o: rest.length } };
    },
  };
}

export const cgroup: CollectorDefinition = {
  name: 'cgroup',
  defaultEnabled: true,
  description:
    'per-cgroup CPU, throttling, memory, OOM events, IO, PSI and pids of containers, systemd units and pods (<sys>/fs/cgroup, v2 or v1); PERFWATCH_CGROUP_INCLUDE, _EXCLUDE, _MAX',
  create: (config, log) => createCgroupCollector(config, log),
};
