/**
 * Loads build/Release/perfwatch_native.node lazily. A missing or unloadable addon (not built yet,
 * built for another Node ABI, not Linux) is a reason, not a crash: importing this package always
 * works, and every call that needs the addon reports 'native addon not built'.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { PerfError } from './errors.js';

/** The shape of the C++ exports (src/addon.cc). */
export interface NativeBinding {
  PerfGroup: new (
    events: readonly { type: number; config: number | bigint }[],
    pid: number,
    cpu: number,
    cgroupPath: string | null,
    options: { excludeKernel?: boolean; excludeHv?: boolean },
  ) => NativeGroup;
  rlimitNofile(): { soft: number; hard: number };
  adjtimex(): RawTimex;
  /** the local time zone's abbreviation and offset east of UTC (s) now, from localtime_r. Absent from an older build. */
  localZone?(): { name: string; offset: number };
  /** src/files.cc: the files' lengths (or -errno) into `lens`, their bytes into `buf` (total
   *  returned) or, when they outgrow it, into a new Buffer returned. Absent from an older build. */
  readFiles?(paths: string, count: number, buf: Buffer, lens: Int32Array, fds?: Int32Array, oneRecord?: boolean): number | Buffer;
  /** closes the descriptors >= 0 of the first `count` (files.cc) */
  closeFds?(fds: Int32Array, count: number): void;
  /** src/files.cc: every directory below root, as "/a/b" from it, unordered. Absent from an older build. */
  listDirs?(root: string): string[];
}

/** struct timex as adjtimex(2) fills it with modes = 0, and the call's return value (`state`). */
export interface RawTimex {
  state: number;
  status: number;
  offset: number;
  freq: number;
  maxerror: number;
  esterror: number;
  constant: number;
  precision: number;
  tolerance: number;
  tick: number;
  ppsfreq: number;
  jitter: number;
  shift: number;
  stabil: number;
  jitcnt: number;
  calcnt: number;
  errcnt: number;
  stbcnt: number;
  tai: number;
}

export interface NativeGroup {
  /** Fills `into` with [nr, enabled, running, value0, id0, ...]; returns the words written. */
  read(into: BigUint64Array): number;
  reset(): void;
  enable(): void;
  disable(): void;
  close(): void;
  ids(): bigint[];
  readonly fdCount: number;
  readonly closed: boolean;
}

/** Resolved against this file, so it is the same from lib/ (tsx) and dist/ (compiled). */
export const ADDON_PATH = fileURLToPath(new URL('../build/Release/perfwatch_native.node', import.meta.url));

export type NativeStatus =
  | { readonly available: true; readonly path: string; readonly binding: NativeBinding }
  | { readonly available: false; readonly path: string; readonly reason: string; readonly error: PerfError };

let status: NativeStatus | undefined;

/** Whether the addon loaded, and why not. Loads it on first call; never throws. */
export function nativeStatus(): NativeStatus {
  status ??= load();
  return status;
}

/** The addon, or a PerfError with reason 'native addon not built'. */
export function loadNative(): NativeBinding {
  const s = nativeStatus();
  if (!s.available) throw s.error;
  return s.binding;
}

function load(): NativeStatus {
  if (process.platform !== 'linux') {
    return notBuilt(`perf_event_open is Linux-only (this is ${process.platform})`, undefined);
  }
  try {
    const binding = createRequire(import.meta.url)(ADDON_PATH) as NativeBinding;
    return { available: true, path: ADDON_PATH, binding };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'MODULE_NOT_FOUND' ? `${ADDON_PATH} is missing` : `${ADDON_PATH} does not load: ${(err as Error).message}`;
    return notBuilt(why, err);
  }
}

function notBuilt(why: string, cause: unknown): NativeStatus {
  const error = new PerfError('native addon not built', `run npm install (${why})`, {
    fix: 'run `npm install` at the repository root (or `node build.mjs` in native/); it needs a C++ compiler, make and python3 for node-gyp',
    cause,
  });
  return { available: false, path: ADDON_PATH, reason: error.message, error };
}
