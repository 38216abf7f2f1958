/**
 * The api as `npm start` runs it: main.ts in its own process, configured by the environment. It
 * migrates, prints the generated administrator password on stdout, answers /ready, and exits 0
 * on SIGTERM.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { testSchema } from '../../store/test/helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('api main', function () {
  this.timeout(60_000);

  it('starts from the environment, answers /ready, and shuts down on SIGTERM', async () => {
    const t = await testSchema({ prefix: 'api' });
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATABASE_URL: t.url,
      PERFWATCH_DB_SCHEMA: t.schema,
      // port 0, and the port read from its log: a port found free beforehand may be taken by
      // another process by the time the api listens.
      PERFWATCH_API_PORT: '0',
      PERFWATCH_API_HOST: '127.0.0.1',
      // a free port: 3000 may be held by a running npm start
      PERFWATCH_UI_PORT: '0',
      PERFWATCH_SCRYPT_N: '1024',
      PERFWATCH_LOG_LEVEL: 'info',
      JWT_SECRET: 'change-this-in-production',
    };
    delete env.ADMIN_PASSWORD;
    delete env.ADMIN_USERNAME;
    delete env.NODE_ENV;
    const child = spawn(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': by then everything it printed has been read.
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      const end = Date.now() + 30_000;
      let base: string | undefined;
      while (!(base = /"msg":"api listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(out)?.[1])) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`the api did not say where it listens:\n${out}`);
        await sleep(50);
      }
      let ready = false;
      while (!ready && Date.now() < end) {
        ready = (await fetch(`${base}/ready`)).status === 200;
        if (!ready) await sleep(100);
      }
      expect(ready, out).to.equal(true);
      expect(out).to.match(/^==> PerfWatch api: created administrator "admin" with the generated password: \S{24}$/m);
      expect(out).to.match(/SECURITY WARNING: JWT_SECRET is the published default/);
      expect(out).to.match(/"msg":"api listening on http:\/\/127\.0\.0\.1:\d+ \(ready: http:\/\/127\.0\.0\.1:\d+\/ready\)"/);
      child.kill('SIGTERM');
      expect(await exited, out).to.equal(0);
      expect(out).to.match(/"msg":"shutting down"/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
