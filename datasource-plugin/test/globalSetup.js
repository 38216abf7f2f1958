// Starts the real PerfWatch api for the tests (scripts/plugin-test-api.mjs in the repository: a
// fresh schema on PostgreSQL, seeded snapshots, an API token) and hands its JSON line to the test
// workers in PERFWATCH_PLUGIN_TEST_API. globalTeardown.js stops it (closing its stdin), which drops
// the schema. Needs the repository's own dependencies (npm install at the root).
const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join('scripts', 'plugin-test-api.mjs');

module.exports = async function globalSetup() {
  const child = spawn(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', SCRIPT], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  globalThis.__PERFWATCH_TEST_API__ = child;
  const line = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const i = out.indexOf('\n');
      if (i >= 0) {
        resolve(out.slice(0, i));
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      reject(
        new Error(
          `${SCRIPT} exited (${code ?? signal}) before printing where the api listens; is the repository installed (npm install at its root) and PostgreSQL reachable?`
        )
      )
    );
  });
  JSON.parse(line); // fail here, not in every test, when it is not JSON
  process.env.PERFWATCH_PLUGIN_TEST_API = line;
};
