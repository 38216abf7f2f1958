/**
 * The whole /metrics output of each fixture machine, diffed against a golden file
 * (UPDATE_GOLDEN=1 rewrites them). statfs and timing values are real measurements of this
 * checkout, so they are masked; everything else, names, labels, values, order, is pinned.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { Snapshot } from '@perfwatch/store';
import { COLLECTORS } from '../src/collectors/registry.js';
import { renderSnapshotText } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { FIXTURES, golden, promtoolCheck, quietLogger, testConfig } from './helpers.js';

const MASKED = /^(perfwatch_scrape_collector_duration_seconds|perfwatch_filesystem_(size_bytes|free_bytes|avail_bytes|files|files_free))(\{.*\})? .*$/;

export function maskExposition(text: string): string {
  return text
    .split('\n')
    .map((l) => (MASKED.test(l) ? l.replace(/ [^ ]+$/, ' <measured>') : l))
    .join('\n');
}

export function maskSnapshot(s: Snapshot): unknown {
  const copy = JSON.parse(JSON.stringify(s)) as Snapshot;
  copy.ts = 0;
  for (const c of Object.values(copy.col)) c.s = 0;
  for (const e of copy.fs ?? []) {
    for (const k of ['size', 'free', 'avail', 'files', 'ffree'] as const) if (k in e) e[k] = -1;
  }
  return copy;
}

async function collect(fixture: string): Promise<Snapshot> {
  const config = testConfig({}, fixture);
  // perf and timex make real syscalls, not fixture reads: perf-collector.test.ts and timex.test.ts cover them.
  const pipeline = new SnapshotPipeline(config, COLLECTORS.filter((c) => c.defaultEnabled && c.name !== 'perf' && c.name !== 'timex'), quietLogger());
  return pipeline.collect(0);
}

for (const fixture of ['small', 'large']) {
  describe(`golden /metrics: ${fixture} fixture machine`, () => {
    let snap: Snapshot;
    let text: string;
    before(async () => {
      snap = await collect(fixture);
      text = await renderSnapshotText(snap);
    });

    it('every collector succeeds on the fixture', () => {
      for (const [name, st] of Object.entries(snap.col)) expect(st, name).to.include({ ok: true });
    });

    it('matches metrics.golden.txt', () => {
      golden(`${FIXTURES}${fixture}/metrics.golden.txt`, maskExposition(text));
    });

    it('matches snapshot.golden.json (the object the database stores)', () => {
      golden(`${FIXTURES}${fixture}/snapshot.golden.json`, JSON.stringify(maskSnapshot(snap), null, 1) + '\n');
    });

    it('passes promtool check metrics with no lint output', function () {
      const check = promtoolCheck(text);
      if (!check) {
        console.log('      promtool not installed (Debian package prometheus); skipped');
        return this.skip();
      }
      expect(check.output).to.equal('');
    });
  });
}

describe('fixture specifics', () => {
  it('small: no /proc/pressure means no pressure series, and the collector still succeeds', async () => {
    const snap = await collect('small');
    expect(snap.psi).to.equal(undefined);
    expect(snap.col.pressure).to.include({ ok: true });
    expect(await renderSnapshotText(snap)).to.not.include('perfwatch_pressure_');
  });

  it('small: partitions, loop, ram and lo/veth are excluded; the 11-field device has 11 values', async () => {
    const snap = await collect('small');
    expect(Object.keys(snap.disk!).sort()).to.deep.equal(['sr0', 'vda']);
    expect(snap.disk!.sr0).to.have.length(11);
    expect(snap.disk!.vda).to.have.length(15);
    expect(Object.keys(snap.net!)).to.deep.equal(['eth0']);
  });

  it('large: 64 CPUs, the escaped mount point, NFS kept, pseudo and docker mounts excluded', async () => {
    const snap = await collect('large');
    expect(Object.keys(snap.cpu!.t)).to.have.length(64);
    const mps = snap.fs!.map((e) => e.mp);
    expect(mps).to.include.members(['/', '/data', '/mnt/nfs', '/mnt/with space']);
    expect(mps.filter((m) => m.startsWith('/var/lib/docker') || m.startsWith('/proc') || m.startsWith('/sys') || m === '/dev/shm')).to.deep.equal([]);
    expect(snap.fs!.find((e) => e.mp === '/mnt/nfs')).to.include({ type: 'nfs4' });
    // the fixture's rootfs has the directory, so statfs answers for it
    expect(snap.fs!.find((e) => e.mp === '/mnt/with space')!.size).to.be.greaterThan(0);
  });

  it('large: disk units are converted (sectors -> bytes, ms -> seconds)', async () => {
    const snap = await collect('large');
    const raw = readFileSync(`${FIXTURES}large/proc/diskstats`, 'utf8').split('\n').find((l) => / sda /.test(l))!.trim().split(/\s+/);
    const sda = snap.disk!.sda!;
    expect(sda[2]).to.equal(Number(raw[5]) * 512);
    expect(sda[3]).to.equal(Number(raw[6]) / 1000);
    expect(sda[9]).to.equal(Number(raw[12]) / 1000);
  });
});
