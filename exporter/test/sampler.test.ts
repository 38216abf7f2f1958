import { expect } from 'chai';
import { Writable } from 'node:stream';
import { COLLECTORS } from '../src/collectors/registry.js';
import { createLogger } from '../src/log.js';
import { Sampler } from '../src/sampler.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { quietLogger, testConfig } from './helpers.js';

function pipeline(env: Record<string, string> = {}, fixture = 'small') {
  return new SnapshotPipeline(testConfig(env, fixture), COLLECTORS.filter((c) => ['cpu', 'loadavg', 'pressure'].includes(c.name)), quietLogger());
}

describe('sampler', () => {
  it('without background collection, every call collects; concurrent calls share one collection', async () => {
    const s = new Sampler(pipeline(), 5000, quietLogger());
    const a = await s.current();
    const b = await s.current();
    expect(b).to.not.equal(a);
    const [c, d] = await Promise.all([s.current(), s.current()]);
    expect(c).to.equal(d);
  });

  it('with background collection, serves the latest snapshot while it is younger than one interval', async () => {
    const s = new Sampler(pipeline(), 60_000, quietLogger());
    s.start();
    const first = await s.current();
    expect(await s.current()).to.equal(first);
    expect(Date.now() - first.ts).to.be.lessThan(60_000);
    await s.stop();
  });

  it('replaces a snapshot older than one interval instead of serving it', async () => {
    const s = new Sampler(pipeline(), 1000, quietLogger());
    s.start();
    const first = await s.current();
    const firstTs = first.ts;
    // age the snapshot artificially past the interval: the next call must collect
    first.ts -= 5000;
    const asked = Date.now();
    const next = await s.current();
    expect(next).to.not.equal(first);
    // A collection after the first, and younger than one interval when it was asked for: the
    // time the collection itself took (long on a loaded machine) is not the snapshot's age.
    expect(next.ts).to.be.at.least(firstTs);
    expect(asked - next.ts).to.be.lessThan(1000);
    await s.stop();
  });

  it('hands every snapshot to listeners, and a throwing listener does not stop the others', async () => {
    const s = new Sampler(pipeline(), 5000, quietLogger());
    const seen: number[] = [];
    s.onSnapshot(() => {
      throw new Error('listener bug');
    });
    s.onSnapshot((snap) => seen.push(snap.ts));
    await s.collectNow();
    await s.collectNow();
    expect(seen).to.have.length(2);
  });
});

describe('missing kernel files', () => {
  it('are logged once at debug, not at every collection', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger('debug', sink);
    const p = new SnapshotPipeline(testConfig({}, 'small'), COLLECTORS.filter((c) => c.name === 'pressure'), log);
    await p.collect();
    await p.collect();
    await p.collect();
    const missing = lines.map((l) => JSON.parse(l)).filter((l) => /kernel file not available/.test(l.msg));
    // small has no /proc/pressure: one line per resource file, once
    expect(missing.map((l) => l.file).sort()).to.deep.equal(['pressure/cpu', 'pressure/io', 'pressure/memory']);
    expect(missing.every((l) => l.level === 20)).to.equal(true);
  });
});
