// Builds the admin UI (api/admin -> api/admin/dist) and measures it. One build function for
// everything that needs the UI: scripts/lib.mjs ensureBuilt (npm start / test / bench / build),
// the end-to-end test and bench-size.mjs all call ensureAdminUi(), which rebuilds only when a
// source is newer than the last build. Static imports are Node builtins only: scripts/lib.mjs
// loads this file on a fresh clone, before npm install; vite is imported in the build child.
//
//   node api/admin/build.mjs     build now (type-check, vite build, print the gzipped JS size)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ADMIN_DIR = dirname(fileURLToPath(import.meta.url));
const DIST_DIR = join(ADMIN_DIR, 'dist');
/** The budget for the JS of the UI, gzipped. */
export const BUDGET_BYTES = 100 * 1024;
/** Written after a successful build: when, and what it measured. */
const STAMP = join(DIST_DIR, 'build.json');
const ROOT = resolve(ADMIN_DIR, '..', '..');

/** What the bundle is made of: its sources, config, and the api package (dependency versions). */
function sources() {
  const out = ['index.html', 'vite.config.ts', 'tsconfig.json', 'build.mjs'].map((f) => join(ADMIN_DIR, f));
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(join(ADMIN_DIR, 'src'));
  walk(join(ADMIN_DIR, 'public'));
  out.push(join(ADMIN_DIR, '..', 'package.json'));
  return out.filter((f) => existsSync(f));
}

/** True when dist is missing or older than any source. */
function adminUiStale() {
  if (!existsSync(STAMP) || !existsSync(join(DIST_DIR, 'index.html'))) return true;
  const built = statSync(STAMP).mtimeMs;
  return sources().some((f) => statSync(f).mtimeMs > built);
}

/** Sizes of the built JS (what the 100 KB budget is about), raw and gzipped (level 9). */
function bundleSize() {
  const assets = join(DIST_DIR, 'assets');
  const files = existsSync(assets) ? readdirSync(assets).filter((f) => f.endsWith('.js')) : [];
  const measured = files.map((f) => {
    const body = readFileSync(join(assets, f));
    return { file: `assets/${f}`, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
  });
  return {
    files: measured,
    jsBytes: measured.reduce((n, f) => n + f.bytes, 0),
    jsGzipBytes: measured.reduce((n, f) => n + f.gzipBytes, 0),
    budgetBytes: BUDGET_BYTES,
  };
}

export function kb(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

export function sizeLine(size) {
  return `admin UI: JS ${kb(size.jsGzipBytes)} gzipped (${kb(size.jsBytes)} raw, ${size.files.length} file${size.files.length === 1 ? '' : 's'}; budget ${kb(size.budgetBytes)})`;
}

/**
 * Builds the UI when it is missing or stale (force: always), in a child process so callers stay
 * synchronous. Returns whether it built and the measured size; throws when the build fails.
 */
export function ensureAdminUi({ force = false, quiet = false, log = (m) => process.stdout.write(`[perfwatch] ${m}\n`) } = {}) {
  if (!force && !adminUiStale()) {
    const size = bundleSize();
    if (!quiet) log(`${sizeLine(size)}, up to date`);
    return { built: false, size };
  }
  if (!quiet) log('building the admin UI (vite)...');
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { cwd: ROOT, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8' });
  if (r.status !== 0) {
    const why = quiet ? `\n${r.stdout ?? ''}${r.stderr ?? ''}` : '';
    throw new Error(`building the admin UI failed (exit ${r.status ?? r.signal})${why}`);
  }
  return { built: true, size: bundleSize() };
}

/** The build itself: type-check (vite only strips types), vite build, measure, stamp. */
async function build() {
  const t0 = Date.now();
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const check = spawnSync(tsc, ['-p', join(ADMIN_DIR, 'tsconfig.json')], { stdio: 'inherit' });
  if (check.status !== 0) throw new Error('the admin UI does not type-check (tsc -p api/admin/tsconfig.json)');
  const { build: viteBuild } = await import('vite');
  await viteBuild({ root: ADMIN_DIR, configFile: join(ADMIN_DIR, 'vite.config.ts'), logLevel: 'warn', clearScreen: false });
  const size = bundleSize();
  for (const f of size.files) process.stdout.write(`[perfwatch]   ${relative(ROOT, join(DIST_DIR, f.file))}  ${kb(f.bytes)}, ${kb(f.gzipBytes)} gzipped\n`);
  process.stdout.write(`[perfwatch] ${sizeLine(size)}, built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (size.jsGzipBytes > BUDGET_BYTES) throw new Error(`the admin UI's JS is ${kb(size.jsGzipBytes)} gzipped, over the ${kb(BUDGET_BYTES)} budget`);
  writeFileSync(STAMP, JSON.stringify({ builtAt: new Date().toISOString(), ...size }, null, 2) + '\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  build().catch((err) => {
    process.stderr.write(`[perfwatch] ${err.message}\n`);
    process.exit(1);
  });
}
