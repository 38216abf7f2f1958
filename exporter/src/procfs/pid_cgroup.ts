// /proc/<pid>/cgroup: "hierarchy-ID:controller-list:cgroup-path" per hierarchy; cgroup v2's is
// "0::/path". man 7 cgroups ("/proc/[pid]/cgroup").
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { readControlFile } from './read_small.js';
import { kernelLines, quote } from './util.js';

/** controller list ("cpu,cpuacct", "" for v2, "name=systemd") -> path. */
export function parsePidCgroup(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [line, n] of kernelLines(text, file)) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a <= 0 || b < 0 || !/^\d+$/.test(line.slice(0, a)) || line[b + 1] !== '/') throw new ParseError(file, n, `expected "id:controllers:/path", got ${quote(line)}`);
    out.set(line.slice(a + 1, b), line.slice(b + 1));
  }
  return out;
}

/**
 * The one path that names the process's group: v2's where the host is v2 (or the process is in a
 * v2 group below the root), else the first v1 hierarchy of cpuacct, cpu, memory (a container
 * runtime puts a container at the same path in each).
 */
export function mainCgroup(lines: Map<string, string>): string {
  const v2 = lines.get('');
  if (v2 !== undefined && (v2 !== '/' || lines.size === 1)) return v2;
  for (const want of ['cpuacct', 'cpu', 'memory']) {
    for (const [ctrls, path] of lines) if (ctrls.split(',').includes(want)) return path;
  }
  return v2 ?? '/';
}

export function readPidCgroup(procRoot: string, pid: string): Map<string, string> {
  const file = join(procRoot, pid, 'cgroup');
  return parsePidCgroup(readControlFile(file), file);
}
