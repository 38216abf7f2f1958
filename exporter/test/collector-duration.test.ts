/**
 * perfwatch_scrape_collector_duration_seconds is each collector's own time: a synchronous
 * collector that runs before a slow one is not charged the slow one's time (they are started in
 * one pass, so timing after an await would add it), and an asynchronous one counts until it
 * settles. Measured with a clock that only the collectors move, so nothing depends on the machine.
 */
import { expect } from 'chai';
import { SnapshotPipeline } from '../src/snapshot.js';
import type { CollectorDefinition } from '../src/collectors/types.js';
import { quietLogger, testConfig } from './helpers.js';

describe('collector durations', () => {
  it("each collector is charged its own time, not the time of those that run after it", async () => {
    let now = 0;
    const def = (name: string, work: () => unknown): CollectorDefinition => ({ name, defaultEnabled: true, description: name, create: () => ({ collect: () => work() as never }) });
    const defs = [
      def('quick', () => ({})),
      def('slow', () => {
        now += 3000; // 3 s of "work" on the test's clock
        return {};
      }),
      def('async', async () => {
        now += 500;
        await new Promise((r) => setImmediate(r));
        now += 250;
        return {};
      }),
      def('failing', () => {
        now += 100;
        throw new Error('broken');
      }),
      def('last', () => ({})),
    ];
    const snap = await new SnapshotPipeline(testConfig(), defs, quietLogger(), () => now).collect(0);
    expect(snap.col.quick).to.deep.equal({ ok: true, s: 0 });
    expect(snap.col.slow).to.deep.equal({ ok: true, s: 3 });
    expect(snap.col.failing).to.deep.equal({ ok: false, s: 0.1, err: 'broken' });
    expect(snap.col.last).to.deep.equal({ ok: true, s: 0 });
    // until it settled: its own 0.75 s, and the 0.1 s of the failing collector that ran while it waited
    expect(snap.col.async?.s).to.equal(0.85);
  });
});
