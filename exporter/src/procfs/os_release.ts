// /etc/os-release (falling back to /usr/lib/os-release): newline-separated KEY=value assignments,
// values optionally in double or single quotes with shell-style backslash escapes; lines starting
// with # are comments. Not a kernel file, but read like one through PERFWATCH_ROOTFS.
// https://www.freedesktop.org/software/systemd/man/latest/os-release.html
// Written by people and packages, so a last line without its newline is accepted; empty, a NUL
// byte or a line over 4 KiB is not an os-release file.
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { kernelLines, quote, readKernelFile } from './util.js';

const ASSIGNMENT = /^([A-Z][A-Z0-9_]*)=(.*)$/;

function unquote(raw: string, file: string, n: number): string {
  const q = raw[0];
  if (q !== '"' && q !== "'") {
    if (/[\s"'`$\\]/.test(raw)) throw new ParseError(file, n, `unquoted value with shell characters: ${quote(raw)}`);
    return raw;
  }
  if (raw.length < 2 || raw[raw.length - 1] !== q) throw new ParseError(file, n, `unterminated quote: ${quote(raw)}`);
  const body = raw.slice(1, -1);
  return q === '"' ? body.replace(/\\([$"\\`])/g, '$1') : body;
}

export function parseOsRelease(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [line, n] of kernelLines(text, file, { maxLine: 4096, unterminatedOk: true, emptyOk: true })) {
    const t = line.trim();
    if (t.startsWith('#')) continue;
    const m = ASSIGNMENT.exec(t);
    if (!m) throw new ParseError(file, n, `expected KEY=value, got ${quote(t)}`);
    out[m[1]!] = unquote(m[2]!, file, n);
  }
  if (Object.keys(out).length === 0) throw new ParseError(file, 1, 'no assignments');
  return out;
}

/** <rootfs>/etc/os-release, else <rootfs>/usr/lib/os-release; ENOENT when neither exists. */
export function readOsRelease(rootfs: string): Record<string, string> {
  let file = join(rootfs, 'etc/os-release');
  let text: string;
  try {
    text = readKernelFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    file = join(rootfs, 'usr/lib/os-release');
    text = readKernelFile(file);
  }
  return parseOsRelease(text, file);
}
