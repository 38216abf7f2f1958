// Stops the api of globalSetup.js: closing its stdin makes it stop both apis and drop the schema.
module.exports = async function globalTeardown() {
  const child = globalThis.__PERFWATCH_TEST_API__;
  if (!child || child.exitCode !== null) {
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin.end();
  const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(kill);
};
