/**
 * node_exporter's textfile collector: every `*.prom` file of PERFWATCH_TEXTFILE_DIR is read and
 * validated at each collection. A file that does not parse, or that declares a family the exporter
 * serves itself (perfwatch_*, process_*, nodejs_*) or one another file declares with another type,
 * is skipped whole and reported (perfwatch_textfile_scrape_error 1, the reason in the snapshot and
 * the log); the scrape never fails for it. What is read goes into the Snapshot (`tf`), so /metrics,
 * history and the live stream all carry it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TextfileFamily, TextfileSection } from '@perfwatch/store/snapshot';
import { errorMessage } from '../errors.js';
import { parseTextFormat, type TextFamily } from '../textformat.js';
import type { CollectorDefinition } from './types.js';

const OURS = /^(perfwatch|process|nodejs)_/;

/** Merges one file's families into `fams` (by name); throws, leaving `fams` untouched, on a clash. */
function merge(fams: Map<string, TextfileFamily>, from: Map<string, string>, file: string, parsed: TextFamily[]): void {
  for (const f of parsed) {
    if (OURS.test(f.name)) throw new Error(`family ${f.name} clashes with the exporter's own (perfwatch_, process_, nodejs_ are reserved)`);
    const had = fams.get(f.name);
    if (had && had.t !== f.type) throw new Error(`family ${f.name} is a ${f.type} here but a ${had.t} in ${from.get(f.name)}`);
  }
  for (const f of parsed) {
    let fam = fams.get(f.name);
    if (!fam) {
      fam = { n: f.name, t: f.type, h: f.help ?? `Metric read from ${file}.`, l: [], s: [] };
      fams.set(f.name, fam);
      from.set(f.name, file);
    }
    for (const s of f.samples) for (const [k] of s.labels) if (!fam.l.includes(k)) fam.l.push(k);
    // a label this file adds is "" on the samples read before
    for (const [values] of fam.s) while (values.length < fam.l.length) values.push('');
  }
  for (const f of parsed) {
    const fam = fams.get(f.name)!;
    for (const s of f.samples) {
      const byName = new Map(s.labels);
      fam.s.push([fam.l.map((k) => byName.get(k) ?? ''), s.value]);
    }
  }
}

/** Two samples of one family with the same labels across files. */
function duplicateIn(fam: TextfileFamily): boolean {
  const seen = new Set<string>();
  for (const [values] of fam.s) {
    const key = JSON.stringify(values);
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

export function collectTextfiles(dir: string): TextfileSection {
  const out: TextfileSection = { files: {}, fam: [], err: 0 };
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.prom')).sort();
  } catch (err) {
    out.err = 1;
    out.files[dir] = { err: errorMessage(err) };
    return out;
  }
  const fams = new Map<string, TextfileFamily>();
  const from = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    let mt: number | undefined;
    try {
      const st = statSync(file, { bigint: true });
      // reported as node_exporter does (its read fails there); not read, since a FIFO would block
      if (!st.isFile()) throw new Error(`${file}: ${st.isDirectory() ? 'a directory' : 'not a regular file'}, not a text file`);
      // whole seconds, as node_exporter serves them
      mt = Number(st.mtimeNs / 1_000_000_000n);
      const parsed = parseTextFormat(readFileSync(file, 'utf8'), file);
      // merged into a copy, so a file that turns out to clash leaves nothing behind
      const trial = new Map([...fams].map(([k, f]) => [k, { ...f, l: [...f.l], s: f.s.map(([v, n]): [string[], number] => [[...v], n]) }]));
      const trialFrom = new Map(from);
      merge(trial, trialFrom, file, parsed);
      const dup = [...trial.values()].find(duplicateIn);
      if (dup) throw new Error(`family ${dup.n} has a series another file already gave`);
      fams.clear();
      for (const [k, f] of trial) fams.set(k, f);
      from.clear();
      for (const [k, f] of trialFrom) from.set(k, f);
      out.files[file] = { mt };
    } catch (err) {
      out.err = 1;
      out.files[file] = mt === undefined ? { err: errorMessage(err) } : { mt, err: errorMessage(err) };
    }
  }
  out.fam = [...fams.values()];
  return out;
}

export const textfile: CollectorDefinition = {
  name: 'textfile',
  defaultEnabled: true,
  description: 'metrics written by other programs into *.prom files of PERFWATCH_TEXTFILE_DIR (node_exporter\'s textfile format); nothing when unset',
  create: () => {
    const reported = new Map<string, string>();
    return {
      collect(ctx) {
        const dir = ctx.config.textfileDir;
        if (dir === undefined) return {};
        const tf = collectTextfiles(dir);
        // log each file's problem once until it changes, not every 5 s
        for (const [file, f] of Object.entries(tf.files)) {
          if (f.err === undefined) reported.delete(file);
          else if (reported.get(file) !== f.err) {
            reported.set(file, f.err);
            ctx.log.warn({ file, err: f.err }, 'textfile skipped');
          }
        }
        return { tf };
      },
    };
  },
};
