/**
 * A hung FUSE mount (a real one: /dev/fuse opened and mounted, and its requests never answered)
 * must cost a timeout once, be reported, and never block a scrape.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../src/app.js';
import { parseExposition, quietLogger, scrape, testConfig } from './helpers.js';

describe('filesystem collector with a hung mount', function () {
  let holder: ChildProcess | undefined;
  let mnt: string;
  let exporter: Exporter | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) {
      console.log('      needs root to mount a FUSE filesystem; skipped');
      return this.skip();
    }
    mnt = mkdtempSync(join(tmpdir(), 'perfwatch-hung-'));
    // Opens /dev/fuse, mounts it and never reads a request: every statfs there blocks.
    holder = spawn('bash', ['-c', `exec 3<>/dev/fuse && mount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 perfwatch-hung ${mnt} && echo mounted && exec sleep 600`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ok = await new Promise<boolean>((resolve) => {
      holder!.stdout!.on('data', (d: Buffer) => d.toString().includes('mounted') && resolve(true));
      holder!.once('exit', () => resolve(false));
    });
    if (!ok) {
      console.log('      could not mount FUSE here (/dev/fuse missing?); skipped');
      return this.skip();
    }
    exporter = await startExporter(testConfig({ PERFWATCH_COLLECTORS: 'filesystem', PERFWATCH_FS_TIMEOUT_SECONDS: '0.3' }), quietLogger(), { processMetrics: false });
  });

  after(() => {
    holder?.kill('SIGKILL');
    if (mnt) {
      spawnSync('umount', ['-l', mnt]);
      try {
        rmdirSync(mnt);
      } catch {
        // already gone
      }
    }
    return exporter?.close();
  });

  const series = (m: Map<string, number>, name: string) => [...m].find(([k]) => k.startsWith(`${name}{`) && k.includes(`mountpoint="${mnt}"`))?.[1];

  it('reports the hung mount as a device error and still serves every other mount', async () => {
    const r = await scrape(`${exporter!.url}/metrics`);
    expect(r.status).to.equal(200);
    const m = parseExposition(r.body);
    expect(m.get('perfwatch_scrape_collector_success{collector="filesystem"}')).to.equal(1);
    expect(series(m, 'perfwatch_filesystem_device_error')).to.equal(1);
    expect(series(m, 'perfwatch_filesystem_size_bytes')).to.equal(undefined);
    const root = [...m].find(([k]) => k.startsWith('perfwatch_filesystem_size_bytes{') && k.includes('mountpoint="/"'));
    expect(root?.[1]).to.be.greaterThan(0);
    const entry = exporter!.sampler.last!.fs!.find((e) => e.mp === mnt)!;
    expect(entry.err).to.match(/statfs timed out after 0.3s/);
  });

  it('does not ask the hung mount again while its statfs is outstanding', async () => {
    await exporter!.sampler.collectNow();
    const entry = exporter!.sampler.last!.fs!.find((e) => e.mp === mnt)!;
    expect(entry.err).to.match(/still hung/);
  });

  it('asks again once the mount answers (here: its FUSE server is gone)', async () => {
    holder!.kill('SIGKILL');
    await new Promise((r) => holder!.once('exit', r));
    // the outstanding statfs returns ENOTCONN once the fuse connection is aborted
    let entry;
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await exporter!.sampler.collectNow();
      entry = exporter!.sampler.last!.fs!.find((e) => e.mp === mnt);
      if (!entry || !/still hung|timed out after/.test(entry.err ?? '')) break;
    }
    // asked again: the answer is now the kernel's (ENOTCONN), or the mount is gone
    if (entry) expect(entry.err ?? '').to.not.match(/still hung|timed out after/);
    if (entry) expect(entry.err).to.match(/ENOTCONN/);
  });
});
