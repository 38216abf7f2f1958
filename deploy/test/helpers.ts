/**
 * Reading the deployment files the way Docker Compose and Docker read them, for the deploy tests:
 * compose YAML with its `!override` / `!reset` tags, variable interpolation from .env, the merge
 * of an override file, volume and port syntax, .env files and Dockerfile stages. Only what our
 * files use, each rule as the compose specification states it (spec.md "Interpolation",
 * merge.md); anything else it meets fails loudly instead of being guessed.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { [k: string]: Json };

/** A value tagged `!override` (replaces instead of merging) in an override file. */
export class Override {
  constructor(readonly value: Json) {}
}
/** A value tagged `!reset` (removes the key) in an override file. */
export const RESET = Symbol('!reset');
type Tagged = Json | Override | typeof RESET | { [k: string]: Tagged } | Tagged[];

function toJs(node: unknown): Tagged {
  let out: Tagged;
  if (node === null || node === undefined) return null;
  if (isMap(node)) {
    const o: { [k: string]: Tagged } = {};
    for (const pair of node.items) o[String(isScalar(pair.key) ? pair.key.value : pair.key)] = toJs(pair.value);
    out = o;
  } else if (isSeq(node)) {
    out = node.items.map(toJs);
  } else if (isScalar(node)) {
    out = node.value as Json;
  } else {
    throw new Error(`unexpected YAML node ${String(node)}`);
  }
  const tag = (node as Node).tag;
  if (tag === '!override') return new Override(out as Json);
  if (tag === '!reset') return RESET;
  if (tag && !tag.startsWith('tag:yaml.org,2002:')) throw new Error(`unknown YAML tag ${tag}`);
  return out;
}

/** A compose file as Compose reads it: `!override` and `!reset` kept as markers. */
export function readComposeTagged(file: string): { [k: string]: Tagged } {
  const doc = parseDocument(readFileSync(join(ROOT, file), 'utf8'));
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return toJs(doc.contents) as { [k: string]: Tagged };
}

/** The tags' plain values: what the JSON schema sees. */
export function untag(v: Tagged): Json {
  if (v instanceof Override) return v.value;
  if (v === RESET) return null;
  if (Array.isArray(v)) return v.map(untag);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== RESET).map(([k, x]) => [k, untag(x)]));
  return v as Json;
}

// ---- interpolation -----------------------------------------------------------------------------

/**
 * ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR and $$ (a literal $).
 * `:-` and `:?` treat an empty value as unset. A required variable that is missing throws.
 * Records every variable name it meets in `seen`.
 */
export function interpolate(s: string, env: Record<string, string>, seen = new Set<string>()): string {
  return s.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_all, dollar: string, name?: string, op?: string, arg?: string, bare?: string) => {
    if (dollar === '$') return '$';
    const n = (name ?? bare)!;
    seen.add(n);
    const v = env[n];
    const unset = v === undefined || (op?.startsWith(':') && v === '');
    if (op === ':-' || op === '-') return unset ? interpolate(arg ?? '', env, seen) : v!;
    if (op === ':?' || op === '?') {
      if (unset) throw new Error(`required variable ${n} is not set: ${arg}`);
      return v!;
    }
    return v ?? '';
  });
}

export function interpolateAll(v: Json, env: Record<string, string>, seen = new Set<string>()): Json {
  if (typeof v === 'string') return interpolate(v, env, seen);
  if (Array.isArray(v)) return v.map((x) => interpolateAll(x, env, seen));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateAll(x, env, seen)]));
  return v;
}

// ---- merging an override file (merge.md) ---------------------------------------------------------

/** Sequences an override replaces rather than appends to. */
const REPLACED = new Set(['command', 'entrypoint', 'test']);

function volumeTarget(v: Json): string {
  return typeof v === 'string' ? parseVolume(v).target : String((v as Obj).target);
}

function mergeValue(key: string, base: Json | undefined, over: Tagged): Json | typeof RESET {
  if (over === RESET) return RESET;
  if (over instanceof Override) return over.value;
  if (base === undefined || base === null) return untag(over);
  if (Array.isArray(base) && Array.isArray(over)) {
    const o = over.map(untag);
    if (REPLACED.has(key)) return o;
    if (key === 'volumes') {
      // merged by mount target: an override's volume replaces the base's on the same path
      const targets = new Set(o.map(volumeTarget));
      return [...base.filter((v) => !targets.has(volumeTarget(v))), ...o];
    }
    const seen = new Set(base.map((x) => JSON.stringify(x)));
    return [...base, ...o.filter((x) => !seen.has(JSON.stringify(x)))];
  }
  if (isObj(base) && over && typeof over === 'object' && !Array.isArray(over)) return mergeMaps(base, over as { [k: string]: Tagged });
  return untag(over);
}

function isObj(v: unknown): v is Obj {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

export function mergeMaps(base: Obj, over: { [k: string]: Tagged }): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const m = mergeValue(k, base[k], v);
    if (m === RESET) delete out[k];
    else out[k] = m;
  }
  return out;
}

/** Files merged in order, as `docker compose -f a -f b` does. */
export function composeConfig(files: string[]): Obj {
  let merged: Obj = {};
  for (const f of files) merged = mergeMaps(merged, readComposeTagged(f));
  return merged;
}

// ---- service details -----------------------------------------------------------------------------

export interface Volume {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
}

/** Short syntax "source:target[:mode]" or "volume:target" (docker's rule: a source with / or . is a path). */
export function parseVolume(v: Json): Volume {
  if (typeof v === 'string') {
    const [source, target, mode = ''] = v.split(':') as [string, string, string?];
    if (target === undefined) return { type: 'volume', source: '', target: source, readOnly: false };
    return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source, target, readOnly: mode.split(',').includes('ro') };
  }
  const o = v as Obj;
  return { type: o.type === 'bind' ? 'bind' : 'volume', source: String(o.source ?? ''), target: String(o.target), readOnly: o.read_only === true };
}

export interface Port {
  hostIp: string;
  published: number;
  target: number;
}

/** "[ip:]published:target[/proto]" after interpolation. */
export function parsePort(p: Json): Port {
  if (typeof p !== 'string') throw new Error(`unsupported port syntax ${JSON.stringify(p)}`);
  const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
  const target = Number(parts.pop());
  const published = Number(parts.pop());
  return { hostIp: parts.join(':'), published, target };
}

/** A service's environment as a map (list or map form). */
export function environmentOf(service: Obj): Record<string, string> {
  const e = service.environment;
  if (!e) return {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((x) => String(x).split(/=(.*)/s).slice(0, 2)));
  return Object.fromEntries(Object.entries(e as Obj).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

// ---- .env files ----------------------------------------------------------------------------------

export interface EnvExample {
  /** KEY=value lines (what Compose and env_file read). */
  values: Record<string, string>;
  /** every KEY of a KEY=value line, commented out ("# KEY=default") or not. */
  documented: Set<string>;
}

export function readEnvFile(file: string): EnvExample {
  const values: Record<string, string> = {};
  const documented = new Set<string>();
  for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
    const set = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (set) {
      values[set[1]!] = set[2]!;
      documented.add(set[1]!);
      continue;
    }
    const commented = /^#\s*([A-Z_][A-Z0-9_]*)=/.exec(line);
    if (commented) documented.add(commented[1]!);
  }
  return { values, documented };
}

/** The environment variables a service's config module reads (every `xxxVar(env, 'NAME'` and `value(env, 'NAME'`). */
export function configVariables(file: string): string[] {
  const src = readFileSync(join(ROOT, file), 'utf8');
  return [...new Set([...src.matchAll(/\b(?:[a-z][A-Za-z]*Var|value)\(\s*env,\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!))].sort();
}

// ---- a runtime image's files, laid out here --------------------------------------------------------

/**
 * Lays out in `dir` what the COPY instructions of a runtime stage put into its image, taking the
 * build stage's files (`COPY --from=build /src/x`) from this checkout's build and context files
 * from the checkout. The build stage's node_modules becomes links to this checkout's packages
 * (workspace packages pointing at the copies, as npm's links do), so nothing outside the COPY
 * list is reachable through the workspace packages: a file the Dockerfile forgets is missing here too.
 * Returns the image's WORKDIR mapped into `dir`.
 */
export function assembleStage(stage: Stage, buildWorkdir: string, dir: string): string {
  const inImage = (p: string) => join(dir, p.startsWith('/') ? p : join(stage.workdir, p));
  for (const args of stage.copies) {
    const from = args.find((a) => a.startsWith('--from='))?.slice('--from='.length);
    const paths = args.filter((a) => !a.startsWith('--'));
    const dest = paths.pop()!;
    for (const src of paths) {
      const here = from ? join(ROOT, relative(buildWorkdir, src)) : join(ROOT, src);
      const target = dest.endsWith('/') || paths.length > 1 ? join(inImage(dest), basename(src)) : inImage(dest);
      mkdirSync(dirname(target), { recursive: true });
      if (from && src === join(buildWorkdir, 'node_modules')) {
        linkNodeModules(here, target);
      } else {
        if (!existsSync(here)) throw new Error(`COPY ${src}: ${here} does not exist (run npm run build)`);
        cpSync(here, target, { recursive: true });
      }
    }
  }
  return join(dir, stage.workdir);
}

function linkNodeModules(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    if (entry.startsWith('.')) continue;
    const src = join(from, entry);
    if (entry.startsWith('@')) {
      mkdirSync(join(to, entry), { recursive: true });
      for (const sub of readdirSync(src)) {
        const s = join(src, sub);
        // workspace packages are relative links (../../store): keep them relative, to the copies
        symlinkSync(lstatSync(s).isSymbolicLink() && !readlinkSync(s).startsWith('/') ? readlinkSync(s) : s, join(to, entry, sub));
      }
    } else {
      symlinkSync(src, join(to, entry));
    }
  }
}

// ---- Dockerfiles ---------------------------------------------------------------------------------

export interface Stage {
  name: string;
  from: string;
  workdir: string;
  user: string;
  env: Record<string, string>;
  cmd: string[] | undefined;
  healthcheck: string[] | undefined;
  copies: string[][];
}

/**
 * The stages of a Dockerfile with what a container of each runs: WORKDIR, USER, ENV, CMD and
 * HEALTHCHECK CMD (exec form), inherited from a stage it is built FROM. Line continuations joined.
 */
export function readDockerfile(file: string): Map<string, Stage> {
  const lines = readFileSync(join(ROOT, file), 'utf8').replace(/\\\n/g, ' ').split('\n');
  const stages = new Map<string, Stage>();
  let cur: Stage | undefined;
  let i = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [, instr = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    switch (instr.toUpperCase()) {
      case 'FROM': {
        const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest) ?? [];
        const parent = stages.get(from);
        cur = parent
          ? { ...parent, env: { ...parent.env }, copies: [...parent.copies], name: name ?? String(i), from }
          : { name: name ?? String(i), from, workdir: '/', user: 'root', env: {}, cmd: undefined, healthcheck: undefined, copies: [] };
        stages.set(cur.name, cur);
        i++;
        break;
      }
      case 'WORKDIR':
        cur!.workdir = rest.startsWith('/') ? rest : join(cur!.workdir, rest);
        break;
      case 'USER':
        cur!.user = rest;
        break;
      case 'ENV': {
        const [, k = '', v = ''] = /^(\S+?)[= ](.*)$/.exec(rest) ?? [];
        cur!.env[k] = v;
        break;
      }
      case 'CMD':
        cur!.cmd = JSON.parse(rest) as string[];
        break;
      case 'HEALTHCHECK': {
        const m = /\bCMD\s+(\[.*\])\s*$/.exec(rest);
        cur!.healthcheck = m ? (JSON.parse(m[1]!) as string[]) : undefined;
        break;
      }
      case 'COPY':
        cur!.copies.push(rest.split(/\s+/));
        break;
      default:
        break;
    }
  }
  return stages;
}
