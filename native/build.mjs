// Builds the addon with node-gyp when its sources exist. Run by npm as this workspace's
// install step, and by scripts/ensure.mjs when build/Release/perfwatch_native.node is missing.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, 'binding.gyp'))) process.exit(0);
const r = spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild'], { cwd: here, stdio: 'inherit' });
process.exit(r.status ?? 1);
