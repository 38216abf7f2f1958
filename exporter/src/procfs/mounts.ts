// /proc/self/mounts: the mount table in fstab(5) format, as seen by this process's mount namespace.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#proc-pid-mountinfo-information-about-mounts
// (/proc/pid/mounts is the older, shorter view of the same table; see also fstab(5), proc_pid_mounts(5))
// An empty table is legitimate: a mount namespace can be left with nothing this process can see.
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, quote, readKernelFile } from './util.js';

export interface Mount {
  device: string;
  mountPoint: string;
  fsType: string;
  options: string[];
}

// Fields are space-separated, so the kernel writes space, tab, newline and backslash inside them
// as \ooo octal (fs/proc_namespace.c, mangle/seq_escape). Anything else is printed as is.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

const MIN_FIELDS = 4;

/** Fields after the options (dump and pass, always `0 0` here) are tolerated and ignored. */
export function parseMounts(text: string, file: string): Mount[] {
  return kernelLines(text, file, { emptyOk: true }).map(([line, n]) => {
    const tokens = fields(line);
    if (tokens.length < MIN_FIELDS) {
      throw new ParseError(file, n, `expected at least ${MIN_FIELDS} fields, got ${tokens.length}`);
    }
    const [device = '', mountPoint = '', fsType = '', options = ''] = tokens;
    // The kernel prints only mounts under this process's root, as absolute paths.
    if (!mountPoint.startsWith('/')) throw new ParseError(file, n, `expected an absolute mount point, got ${quote(mountPoint)}`);
    return {
      device: unescape(device),
      mountPoint: unescape(mountPoint),
      // The kernel escapes these too (a fuse type or an option value may hold any of the four).
      fsType: unescape(fsType),
      options: options.split(',').map(unescape),
    };
  });
}

export function readMounts(procRoot: string): Mount[] {
  const file = join(procRoot, 'self/mounts');
  return parseMounts(readKernelFile(file), file);
}
