// Builds the addon with node-gyp when its sources exist. Run by npm as this workspace's
// install step, and by scripts/ensure.mjs when build/Release/perfwatch_native.node is missing.
// perf_event_open is Linux-only: elsewhere nothing is built and lib/native.ts reports
// "native addon not built", so the rest of PerfWatch still installs and runs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, 'binding.gyp'))) process.exit(0);
if (process.platform !== 'linux') {
  console.log(`@perfwatch/native: not building the perf_event_open addon on ${process.platform} (Linux only)`);
  process.exit(0);
}
// npm runs this on every install; rebuilding an up-to-date addon only costs time.
const out = join(here, 'build', 'Release', 'perfwatch_native.node');
if (existsSync(out) && !process.argv.includes('--force')) {
  const built = statSync(out).mtimeMs;
  const inputs = [join(here, 'binding.gyp'), ...readdirSync(join(here, 'src')).map((f) => join(here, 'src', f))];
  if (inputs.every((f) => statSync(f).mtimeMs <= built)) process.exit(0);
}
const r = spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild'], { cwd: here, stdio: 'inherit' });
process.exit(r.status ?? 1);
