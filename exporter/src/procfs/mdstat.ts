// /proc/mdstat: Linux software RAID (drivers/md/md.c md_seq_show). A "Personalities" line, then per
// array a line `mdN : active|inactive [(read-only)|(auto-read-only)] [level] member[idx][(F|S|W|J|R)]...`,
// an indented status line `<blocks> blocks ... [n/m] [UU_]`, optional bitmap and progress lines
// (`[==>...]  recovery = 12.6% (246848/1953382400) ...`, `resync=DELAYED`), a blank line; and
// "unused devices: ..." at the end. https://raid.wiki.kernel.org/index.php/Mdstat
// Never empty, even without arrays ("Personalities :" and "unused devices: <none>"); a file that
// does not end with the "unused devices" line was cut short, and arrays after the cut would vanish.
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { kernelLines, quote, readKernelFile } from './util.js';

export interface MdArray {
  device: string;
  /** active or inactive. */
  state: 'active' | 'inactive';
  /** raid1, raid5, ... (absent for an inactive array). */
  level?: string;
  /** members in use, failed (F), spare (S; also a journal, J, or a replacement, R, not yet in use). */
  active: number;
  failed: number;
  spare: number;
  /** [n/m]: members the array needs (n); absent for inactive, raid0 and linear arrays. */
  required?: number;
  /** array size in 1 KiB blocks. */
  blocks?: number;
  /** recovery, resync, check, reshape (while running, or DELAYED / PENDING as the kernel prints it). */
  action?: string;
  /** blocks done of the running action. */
  synced?: number;
}

const MEMBER = /^([^\s[]+)\[(\d+)\]((?:\([A-Z]\))*)$/;
const PROGRESS = /\b(recovery|resync|check|reshape|repair)\s*=\s*[\d.]+%\s*\((\d+)\/(\d+)\)/;
const WAITING = /\b(recovery|resync|check|reshape|repair)\s*=\s*(DELAYED|PENDING)\b/;

export function parseMdstat(text: string, file: string): MdArray[] {
  const out: MdArray[] = [];
  const all = kernelLines(text, file);
  // blank lines end an array's block, so the lines are walked as the kernel printed them
  const lines = text.split('\n');
  if (!/^Personalities\s*:/.test(lines[0] ?? '')) throw new ParseError(file, 1, 'expected the "Personalities :" line');
  let cur: MdArray | undefined;
  lines.forEach((line, i) => {
    const n = i + 1;
    if (i === 0 || line.trim() === '' || line.startsWith('unused devices:')) {
      if (line.trim() === '') cur = undefined;
      return;
    }
    const head = /^(md[\w-]*\d+|md_\w+)\s*:\s*(.*)$/.exec(line);
    if (head) {
      const tokens = head[2]!.trim().split(/\s+/);
      const state = tokens.shift();
      if (state !== 'active' && state !== 'inactive') throw new ParseError(file, n, `expected active or inactive, got ${quote(state ?? '')}`);
      while (tokens[0]?.startsWith('(')) tokens.shift(); // (read-only), (auto-read-only)
      const a: MdArray = { device: head[1]!, state, active: 0, failed: 0, spare: 0 };
      if (tokens[0] !== undefined && !MEMBER.test(tokens[0])) a.level = tokens.shift();
      for (const t of tokens) {
        const m = MEMBER.exec(t);
        if (!m) throw new ParseError(file, n, `not a member device: ${quote(t)}`);
        const flags = m[3]!;
        if (flags.includes('(F)')) a.failed++;
        else if (flags.includes('(S)') || flags.includes('(J)') || flags.includes('(R)')) a.spare++;
        else a.active++;
      }
      // an inactive array lists its members as spares: they are not in use
      if (state === 'inactive') {
        a.spare += a.active;
        a.active = 0;
      }
      out.push(a);
      cur = a;
      return;
    }
    if (!/^\s/.test(line)) throw new ParseError(file, n, `unexpected line ${quote(line, 40)}`);
    if (!cur) throw new ParseError(file, n, 'status line without an array line before it');
    const blocks = /^\s+(\d+) blocks\b/.exec(line);
    if (blocks) {
      cur.blocks = Number(blocks[1]);
      const nm = /\[(\d+)\/(\d+)\]/.exec(line);
      if (nm) cur.required = Number(nm[1]);
      return;
    }
    const p = PROGRESS.exec(line);
    if (p) {
      cur.action = p[1]!;
      cur.synced = Number(p[2]);
      return;
    }
    const w = WAITING.exec(line);
    if (w) cur.action = `${w[1]}=${w[2]}`;
    // bitmap lines and anything else indented: not kept
  });
  const [last, lastN] = all[all.length - 1]!;
  if (!last.startsWith('unused devices:')) throw new ParseError(file, lastN, `expected the "unused devices:" line last, got ${quote(last)}`);
  return out;
}

export function readMdstat(procRoot: string): MdArray[] {
  const file = join(procRoot, 'mdstat');
  return parseMdstat(readKernelFile(file), file);
}
