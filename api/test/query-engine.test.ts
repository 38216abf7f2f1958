/**
 * The query engine (api/src/promql/engine.ts): evaluations in worker threads, each with its own
 * pool, give what the evaluator gives in this thread; errors keep their kind across the thread
 * boundary (PromError: timeout; StoreError: an unreachable database, transient, so 503); queries
 * go to every worker and run at once; a closed engine refuses and leaves no connection open.
 */
import { expect } from 'chai';
import { closePool, createPool, insertSnapshots, silentLogger, StoreError } from '@perfwatch/store';
import { testSchema, type TestSchema } from '../../store/test/helpers.js';
import { fixtureSnapshot, simulate } from '../../store/test/synth.js';
import { hybridEngine, inProcessEngine, workerEngine, type QueryEngine } from '../src/promql/engine.js';
import { PromError } from '../src/promql/errors.js';
import type { ResultValue } from '../src/promql/eval.js';

const MIN = 60_000;
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 30 * 3_600_000;
const APP = 'perfwatch-engine-test';

/** A value as comparable data: a vector's series with their values and presence as plain arrays. */
const show = (v: ResultValue) => (v.type === 'vector' ? v.series.map((s) => [s.labels, Array.from(s.v), Array.from(s.ok)]) : v);

describe('query engine: worker threads', function () {
  this.timeout(60_000);
  let t: TestSchema;
  let engine: QueryEngine;
  const opts = { start: T0 + 30 * MIN, end: T0 + 90 * MIN, step: MIN, tier: 'raw' as const };

  before(async () => {
    t = await testSchema({ migrate: true, prefix: 'engine' });
    for (const host of ['a', 'b']) await insertSnapshots(t.pool, simulate(fixtureSnapshot('small', { compact: true }), host, T0, 120, { intervalMs: MIN, seed: host === 'a' ? 1 : 2 }));
    engine = workerEngine({ databaseUrl: t.url, schema: t.schema, applicationName: APP, poolMax: 2 }, 2, silentLogger);
  });
  after(async () => {
    await engine?.close();
    await t?.drop();
  });

  const connections = async () => Number((await t.pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [APP])).rows[0]!.n);

  it('answers as the evaluator in this thread does, reading through its own pool', async () => {
    const q = 'sum by (host) (rate(perfwatch_cpu_seconds_total{mode="user"}[5m]))';
    const [w, local] = await Promise.all([engine.evaluate(q, opts), inProcessEngine(t.pool).evaluate(q, opts)]);
    expect(w.value.type).to.equal('vector');
    expect([...w.tiers]).to.deep.equal(['raw']);
    expect(Array.from(w.times)).to.deep.equal(Array.from(local.times));
    expect(show(w.value)).to.deep.equal(show(local.value));
    expect((w.value as { series: unknown[] }).series).to.have.length(2);
    // The workers' own connections (application_name of their pools), not the caller's pool.
    expect(await connections()).to.be.greaterThan(0);
  });

  it('answer: the worker writes the answer text, the same as this thread writes; its errors keep their kind', async () => {
    const q = 'sum by (host) (rate(perfwatch_cpu_seconds_total{mode="user"}[5m]))';
    const [w, local] = await Promise.all([engine.answer(q, opts, 'range'), inProcessEngine(t.pool).answer(q, opts, 'range')]);
    expect(w.json).to.equal(local.json);
    expect([...w.tiers]).to.deep.equal(['raw']);
    const data = JSON.parse(w.json) as { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
    expect(data.resultType).to.equal('matrix');
    expect(data.result.map((s) => s.metric)).to.deep.equal([{ host: 'a' }, { host: 'b' }]);
    expect(data.result[0]!.values).to.have.length(61);
    // A string is no answer to a range query: bad_data, from the worker.
    const err = await engine.answer('"text"', opts, 'range').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PromError);
    expect((err as PromError).type).to.equal('bad_data');
    expect((err as PromError).message).to.match(/invalid expression type "string" for range query/);
  });

  describe('hybrid: in this thread within a budget, else in a worker', () => {
    /**
     * The real worker engine, counting what reaches it, on a clock (`now`, for the hybrid's
     * `clock`) that its i-th evaluation moves by `ms(i)` (default: not at all).
     */
    const counted = (ms: (i: number) => number = () => 0) => {
      const c = { calls: 0, now: 1_000_000, engine: undefined as unknown as QueryEngine };
      c.engine = {
        evaluate: async (text, o) => {
          const i = c.calls++;
          const r = await engine.evaluate(text, o);
          c.now += ms(i);
          return r;
        },
        answer: (text, o, kind) => (c.calls++, engine.answer(text, o, kind)),
        close: async () => undefined,
      };
      return c;
    };
    const q = 'sum by (host) (rate(perfwatch_cpu_seconds_total{mode="user"}[5m]))';

    it('a query within the budget never reaches the workers, and answers as they do', async () => {
      const w = counted();
      const h = hybridEngine(t.pool, w.engine, { budgetMs: 10_000, maxInThread: 2 });
      const local = await h.answer(q, opts, 'range');
      expect(w.calls).to.equal(0);
      expect(h.counts).to.deep.equal({ here: 1, moved: 0, straight: 0 });
      expect(local.json).to.equal((await engine.answer(q, opts, 'range')).json);
    });

    it('past the budget the workers evaluate it from the start, and the answer is whole', async () => {
      const w = counted();
      const h = hybridEngine(t.pool, w.engine, { budgetMs: 0, maxInThread: 2 });
      const [viaWorker, direct] = await Promise.all([h.evaluate(q, opts), inProcessEngine(t.pool).evaluate(q, opts)]);
      expect(w.calls).to.equal(1);
      expect(show(viaWorker.value)).to.deep.equal(show(direct.value));
    });

    it('a query that moved goes to the workers without a try the next time; others still try here', async () => {
      const w = counted();
      // no budget: every query moves at its first deadline check
      const h = hybridEngine(t.pool, w.engine, { budgetMs: 0, maxInThread: 2 });
      await h.evaluate(q, opts);
      expect(h.counts).to.deep.equal({ here: 0, moved: 1, straight: 0 });
      await h.evaluate(q, opts);
      expect(h.counts).to.deep.equal({ here: 0, moved: 1, straight: 1 });
      // a range 16 times longer is another query: tried here first (and moved)
      await h.evaluate(q, { ...opts, start: opts.end - 16 * (opts.end - opts.start) });
      expect(h.counts).to.deep.equal({ here: 0, moved: 2, straight: 1 });
      expect(w.calls).to.equal(3);
    });

    it('a query kept for the workers is tried here again once they answered it within lightMs 3 times in a row', async () => {
      // the workers' times: cold at the move, then light, light, slow (the count starts again), light x3
      const times = [50, 5, 5, 50, 5, 5, 5];
      const w = counted((i) => times[i] ?? 5);
      // no budget: every try here moves
      const h = hybridEngine(t.pool, w.engine, { budgetMs: 0, maxInThread: 2, lightMs: 30, clock: () => w.now });
      for (let i = 0; i < times.length; i++) await h.evaluate(q, opts);
      expect(h.counts).to.deep.equal({ here: 0, moved: 1, straight: 6 });
      // the mark ended: tried here (and moved again)
      await h.evaluate(q, opts);
      expect(h.counts).to.deep.equal({ here: 0, moved: 2, straight: 6 });
      // with lightMs 0 no answer is light: the mark stays
      const strict = hybridEngine(t.pool, w.engine, { budgetMs: 0, maxInThread: 2, lightMs: 0, clock: () => w.now });
      for (let i = 0; i < 10; i++) await strict.evaluate(q, opts);
      expect(strict.counts).to.deep.equal({ here: 0, moved: 1, straight: 9 });
    });

    it('each time a query moves again it needs twice as many light answers, at most 96', async () => {
      const w = counted(() => 1);
      const h = hybridEngine(t.pool, w.engine, { budgetMs: 0, maxInThread: 2, lightMs: 30, clock: () => w.now });
      let straight = 0;
      for (const [i, need] of [3, 6, 12, 24, 48, 96, 96].entries()) {
        // a move (its own answer the first light one), then need - 1 straight to the workers
        for (let k = 0; k < need; k++) await h.evaluate(q, opts);
        straight += need - 1;
        expect(h.counts, `mark ${i + 1}`).to.deep.equal({ here: 0, moved: i + 1, straight });
      }
      // the last mark (96, not 192) has ended too: the next one is tried here, and moves
      await h.evaluate(q, opts);
      expect(h.counts).to.deep.equal({ here: 0, moved: 8, straight });
    });

    it("the query's own deadline is its timeout, not a hand-over; bad_data is answered here", async () => {
      const w = counted();
      const h = hybridEngine(t.pool, w.engine, { budgetMs: 10_000, maxInThread: 2 });
      const late = await h.evaluate(q, { ...opts, deadline: Date.now() - 1 }).catch((e: unknown) => e);
      expect((late as PromError).type).to.equal('timeout');
      const bad = await h.evaluate('sum(', opts).catch((e: unknown) => e);
      expect((bad as PromError).type).to.equal('bad_data');
      expect(w.calls).to.equal(0);
    });

    it("a statement ended by the first tries' statement_timeout moves the query to the workers", async () => {
      // The first tries' pool stops statements after 200 ms; the hosts table is locked for 600 ms.
      const tries = createPool({ databaseUrl: t.url, schema: t.schema, statementTimeoutMs: 200, poolMax: 2 });
      const w = counted();
      const h = hybridEngine(tries, w.engine, { budgetMs: 10_000, maxInThread: 2, close: () => closePool(tries) });
      const locker = await t.pool.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE hosts IN ACCESS EXCLUSIVE MODE');
        const answer = h.evaluate(q, opts);
        await new Promise((r) => setTimeout(r, 600));
        await locker.query('COMMIT');
        const [moved, direct] = await Promise.all([answer, inProcessEngine(t.pool).evaluate(q, opts)]);
        expect(w.calls).to.equal(1);
        expect(show(moved.value)).to.deep.equal(show(direct.value));
      } finally {
        locker.release();
        await h.close();
      }
    });

    it('at most maxInThread queries in this thread at once; the others go to the workers', async () => {
      const w = counted();
      const h = hybridEngine(t.pool, w.engine, { budgetMs: 10_000, maxInThread: 1 });
      const rs = await Promise.all([1, 2, 3].map((i) => h.evaluate(`count(perfwatch_load_average_1m) + ${i}`, opts)));
      expect(w.calls).to.equal(2);
      expect(rs.map((r) => (r.value as { series: { v: Float64Array }[] }).series[0]!.v[0])).to.deep.equal([3, 4, 5]);
      // and one at a time, every query stays here
      for (const i of [1, 2]) await h.evaluate(`vector(${i})`, opts);
      expect(w.calls).to.equal(2);
    });
  });

  it('runs queries on every worker at once', async () => {
    const qs = Array.from({ length: 8 }, (_, i) => engine.evaluate(`count(perfwatch_load_average_1m) + ${i}`, opts));
    const rs = await Promise.all(qs);
    rs.forEach((r, i) => {
      const s = (r.value as { series: { v: Float64Array }[] }).series;
      expect(s[0]!.v[0]).to.equal(2 + i);
    });
  });

  it('a PromError crosses as itself: a deadline already past is a timeout', async () => {
    const err = await engine.evaluate('rate(perfwatch_cpu_seconds_total[5m])', { ...opts, deadline: Date.now() - 1 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PromError);
    expect((err as PromError).type).to.equal('timeout');
  });

  it('a query that does not parse is its own bad_data answer; the worker goes on with the next', async () => {
    const err = await engine.evaluate('sum(rate(x[5m]', opts).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PromError);
    expect((err as PromError).type).to.equal('bad_data');
    expect((err as PromError).message).to.match(/^1:\d+: parse error: /);
    // both workers still answer
    const rs = await Promise.all([1, 2].map((i) => engine.evaluate(`vector(${i})`, opts)));
    expect(rs.map((r) => (r.value as { series: { v: Float64Array }[] }).series[0]!.v[0])).to.deep.equal([1, 2]);
  });

  it('an unreachable database is a transient StoreError (503 at the edge), and the engine goes on', async () => {
    const down = workerEngine({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', schema: 'x', connectTimeoutMs: 2000 }, 1, silentLogger);
    try {
      const err = await down.evaluate('perfwatch_load_average_1m', opts).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).transient).to.equal(true);
      // A query that reads nothing still answers.
      const r = await down.evaluate('vector(7)', opts);
      expect((r.value as { series: { v: Float64Array }[] }).series[0]!.v[0]).to.equal(7);
    } finally {
      await down.close();
    }
  });

  it('close: later queries are refused, and the workers leave no connection behind', async () => {
    const e = workerEngine({ databaseUrl: t.url, schema: t.schema, applicationName: `${APP}-2` }, 1, silentLogger);
    await e.evaluate('perfwatch_load_average_1m', opts);
    const open = async () => Number((await t.pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [`${APP}-2`])).rows[0]!.n);
    expect(await open()).to.be.greaterThan(0);
    await e.close();
    const err = await e.evaluate('vector(1)', opts).catch((x: unknown) => x);
    expect((err as Error).message).to.match(/closed/);
    for (let i = 0; i < 50 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await open()).to.equal(0);
  });
});
