// Shared by the repo scripts (start, test, bench, ensure). Node builtins only: these run on a
// fresh clone before anything is installed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// Node builtins only at load time, like this file; it imports vite in its own build process.
import { ensureAdminUi } from '../api/admin/build.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WORKSPACES = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).workspaces;

export function log(msg) {
  process.stdout.write(`[perfwatch] ${msg}\n`);
}

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  }
  return r;
}

export function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || undefined;
}

/** Hash of the files (relative to dir) that decide what an install puts into node_modules. */
function hashFiles(dir, files) {
  const h = createHash('sha256');
  for (const f of files) {
    const p = join(dir, f);
    h.update(f).update(existsSync(p) ? readFileSync(p) : '');
  }
  return h.digest('hex');
}

/**
 * Runs install() in an npm project when node_modules is missing or was installed from other
 * `files` (package.json, the lock...): a stamp in node_modules holds their hash, taken after the
 * install, as `npm install` may rewrite the lock. install() says whether it worked; false: failed.
 */
export function installWhenChanged(dir, files, install) {
  const stamp = join(dir, 'node_modules', '.perfwatch-install');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hashFiles(dir, files)) return true;
  if (!install()) return false;
  markInstalled(dir, files);
  return true;
}

/** The files whose content decides the root install (the workspaces' package.json included). */
const ROOT_INSTALL_FILES = ['package.json', 'package-lock.json', ...WORKSPACES.map((w) => `${w}/package.json`)];

/**
 * Records that node_modules matches `files` as they are now: after an install done some other way
 * (the Docker build's `npm ci`), so ensureBuilt does not install again.
 */
export function markInstalled(dir = ROOT, files = ROOT_INSTALL_FILES) {
  writeFileSync(join(dir, 'node_modules', '.perfwatch-install'), hashFiles(dir, files));
}

/** The native addon is missing, or older than a source of it (a checkout that pulled a new binding). */
function nativeStale() {
  const addon = join(ROOT, 'native', 'build', 'Release', 'perfwatch_native.node');
  if (!existsSync(addon)) return true;
  const built = statSync(addon).mtimeMs;
  const src = join(ROOT, 'native', 'src');
  const sources = [join(ROOT, 'native', 'binding.gyp'), ...readdirSync(src).map((f) => join(src, f))];
  return sources.some((f) => statSync(f).mtimeMs > built);
}

/** Installs dependencies when node_modules is missing or stale; builds the native addon and TypeScript. */
export function ensureBuilt({ quiet = false } = {}) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) throw new Error(`Node.js 20 or newer is needed (this is ${process.versions.node})`);
  installWhenChanged(ROOT, ROOT_INSTALL_FILES, () => {
    log('installing dependencies (npm install)...');
    run('npm', ['install', '--no-audit', '--no-fund']);
    return true;
  });
  if (existsSync(join(ROOT, 'native', 'binding.gyp')) && nativeStale()) {
    log('building the native addon (node-gyp)...');
    run('node', ['build.mjs'], { cwd: join(ROOT, 'native') });
  }
  if (!quiet) log('compiling TypeScript (tsc -b)...');
  run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b']);
  // started as a program so its shebang's memory flags apply (see exporter/src/main.ts)
  chmodSync(join(ROOT, 'exporter', 'dist', 'main.js'), 0o755);
  // The admin UI (api/admin/dist, served by the api on :3000): rebuilt only when a source is
  // newer than the last build; prints the gzipped JS size either way.
  ensureAdminUi({ quiet, log });
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const revision = git.status === 0 ? git.stdout.trim() : '';
  for (const ws of WORKSPACES) {
    const f = join(ROOT, ws, 'build-info.json');
    const text = JSON.stringify({ revision }) + '\n';
    if (!existsSync(f) || readFileSync(f, 'utf8') !== text) writeFileSync(f, text);
  }
}

/** Debian packages a test or benchmark needs (promtool, node_exporter, perf, chromium): installed when missing and root. */
export function ensureDebianPackages(pkgs) {
  const missing = pkgs.filter(([, bin]) => !which(bin)).map(([pkg]) => pkg);
  if (!missing.length) return [];
  if (process.getuid?.() !== 0 || !which('apt-get')) {
    log(`cannot install ${missing.join(' ')} (not root or no apt-get); tests that need them will say so and skip`);
    return missing;
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '--no-install-recommends', ...missing];
  let r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  }
  return pkgs.filter(([, bin]) => !which(bin)).map(([pkg]) => pkg);
}

/** Spawns a long-running child, prefixing its output lines with its name. */
export function spawnService(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const prefix = (stream, out) => {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        out.write(`${name.padEnd(9)}| ${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
  };
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  return child;
}
