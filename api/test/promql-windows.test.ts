/**
 * windowSpans (eval.ts): which windows a range function's raw read is restricted to.
 */
import { expect } from 'chai';
import { windowSpans } from '../src/promql/eval.js';

describe('PromQL: the windows a range selector reads', () => {
  it('windows covering less than half the range: each step reads only its window (lo, hi]', () => {
    expect(windowSpans([0, 60_000, 120_000], 20_000)).to.deep.equal([[-20_000, 0], [40_000, 60_000], [100_000, 120_000]]);
    // 44-minute steps, 5-minute windows: 5 of every 44 minutes.
    const refs = Array.from({ length: 981 }, (_, k) => k * 2_640_000);
    const spans = windowSpans(refs, 300_000)!;
    expect(spans).to.have.length(981);
    expect(spans.reduce((n, [lo, hi]) => n + hi - lo, 0)).to.equal(981 * 300_000);
  });

  it('windows that meet or overlap merge; when they cover half the range or more, the whole range is read', () => {
    expect(windowSpans([0, 60_000, 120_000], 30_000)).to.equal(undefined); // 90 of 150 s
    expect(windowSpans([0, 60_000, 120_000], 60_000)).to.equal(undefined);
    expect(windowSpans([0, 10_000, 100_000, 110_000], 10_000)).to.deep.equal([[-10_000, 10_000], [90_000, 110_000]]);
    // one evaluation, or every step at the same time (@): one window
    expect(windowSpans([5_000], 1_000)).to.equal(undefined);
    expect(windowSpans([5_000, 5_000, 5_000], 1_000)).to.equal(undefined);
  });
});
