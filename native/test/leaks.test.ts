/**
 * No leaks: 10,000 open/read/close cycles leave the fd count where it started and RSS within a
 * bound. RSS is allowed 20 MB of growth: V8's heap grows and shrinks with garbage it has not
 * collected yet, so a flat line is not a fair bar, but a leak of even one 4 KiB page or one fd
 * per cycle (40 MB, 20,000 fds) would fail.
 */
import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { nativeStatus, openFdCount, openGroup, tryOpenGroup } from '../lib/index.js';
import { skip, sleep } from './helpers.js';

describe('no leaks', function () {
  this.timeout(120_000);
  let gc: () => void = () => {};

  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  });

  it('10,000 open/read/close cycles: fd count returns to its start, RSS grows < 20 MB', async function () {
    const cycle = (): void => {
      const g = openGroup({ events: ['task-clock', 'context-switches', 'page-faults'], target: { cpu: 0 } });
      g.read();
      g.close();
    };
    // Collect, then let the finalizers of collected groups run (they run from the event loop).
    const settle = async (): Promise<void> => {
      gc();
      await sleep(20);
      gc();
    };
    for (let i = 0; i < 500; i++) cycle(); // warm up JIT and allocator
    await settle();
    const fds = openFdCount();
    const rss = process.memoryUsage.rss();
    for (let i = 0; i < 10_000; i++) cycle();
    await settle();
    const grew = (process.memoryUsage.rss() - rss) / 1e6;
    console.log(`      rss grew ${grew.toFixed(1)} MB over 10,000 cycles`);
    expect(openFdCount()).to.equal(fds);
    expect(grew).to.be.below(20);
  });

  it('failed opens leak nothing either (a group whose second event fails closes the first)', function () {
    const fds = openFdCount();
    for (let i = 0; i < 1000; i++) {
      const r = tryOpenGroup({ events: ['task-clock', { name: 'bogus', type: 1, config: 999 }], target: { cpu: 0 } });
      expect(r.ok).to.equal(false);
    }
    expect(openFdCount()).to.equal(fds);
  });
});
