/**
 * Where PromQL evaluations run: in worker threads (the default), so that a heavy query's
 * computing and garbage collection never hold the api's event loop (/health, logins, the live
 * stream keep answering: #19), or in the api's own thread (PERFWATCH_QUERY_WORKERS=0, and apps
 * built without an engine, as some tests build them).
 *
 * Both the Prometheus API (router.ts) and the JSON API (routes/query.ts) evaluate through an
 * engine. A query crosses to a worker as its text (parsed once more there; parsing is cheap and
 * matchers hold functions, which do not cross threads) with its options; its value comes back by
 * structured clone (typed arrays copied). Errors keep their kind: PromError (bad_data, execution,
 * timeout) and StoreError (a database that cannot be reached is 503 as before) are rebuilt on this
 * side; anything else is an internal error with the worker's message.
 *
 * Workers start when the first query comes, each with its own database pool (the api's settings),
 * queries go round-robin, and a worker may run many queries at once (evaluation awaits the
 * database between computing). A worker that dies (out of memory, a bug) fails only the queries
 * it held, with an internal error, and is started again for the next query.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StoreError, type Pool, type StoreErrorCode } from '@perfwatch/store';
import type { Logger } from '@perfwatch/store';
import { PromError, type PromErrorType } from './errors.js';
import { evaluate, type EvalOptions, type ResultValue } from './eval.js';
import { answerJson, type AnswerKind } from './format.js';
import type { Expr } from './ast.js';
import { parsePromQL } from './parse.js';

export interface EvalOutput {
  value: ResultValue;
  times: Float64Array;
  tiers: Set<'raw' | '1m' | '1h'>;
}

/** A query's answer for Prometheus's query API: its `data` as JSON text (format.ts). */
export interface AnswerOutput {
  json: string;
  tiers: Set<'raw' | '1m' | '1h'>;
}

export interface QueryEngine {
  /** Evaluates a query's text (which the caller has parsed once already, for its errors). */
  evaluate(text: string, opts: EvalOptions): Promise<EvalOutput>;
  /**
   * Evaluates and writes the answer where it was evaluated: only its text crosses back. `parsed`:
   * the caller's parse of `text`, used where evaluation stays in this thread (not re-parsed).
   */
  answer(text: string, opts: EvalOptions, kind: AnswerKind, parsed?: Expr): Promise<AnswerOutput>;
  close(): Promise<void>;
}

/** Evaluates `text` and writes its answer (both sides of the engine). */
export async function answerOf(pool: Pool, text: string, opts: EvalOptions, kind: AnswerKind, parsed?: Expr): Promise<AnswerOutput> {
  const r = await evaluate(pool, parsed ?? parsePromQL(text), opts);
  return { json: answerJson(kind, r.value, r.times), tiers: r.tiers };
}

/** The api's own thread: the evaluator yields every 10 ms, but its garbage collection does not. */
export function inProcessEngine(pool: Pool): QueryEngine {
  return {
    evaluate: (text, opts) => evaluate(pool, parsePromQL(text), opts),
    answer: (text, opts, kind, parsed) => answerOf(pool, text, opts, kind, parsed),
    close: async () => undefined,
  };
}

export interface HybridOptions {
  /** the longest (ms, wall clock) a query is evaluated in the api's thread before it goes to a worker. */
  budgetMs: number;
  /** queries evaluated in the api's thread at once; more go to the workers straight away. */
  maxInThread: number;
  /**
   * A query kept for the workers (it moved) that they answer within this (ms, wall clock) several
   * times in a row (FIRST_NEED) was slow here by chance (its first run: code not compiled yet,
   * connections opening; a pause of the machine): it is tried here again the next time. Default
   * budgetMs / 4: with budgetMs / 2, a query near the budget (answered in 7-38 ms by the workers
   * against a budget of 20) came back every few requests and wasted a try of the budget each time.
   */
  lightMs?: number;
  /** the clock of lightMs and of the marks of queries that moved (tests); default Date.now */
  clock?: () => number;
  /** closes what the engine owns besides the workers (the pool of the first tries). */
  close?: () => Promise<void>;
}

/** What a hybrid engine did with its queries (tests, diagnostics). */
export interface HybridCounts {
  /** evaluated in the api's thread */
  here: number;
  /** tried here, then evaluated by a worker */
  moved: number;
  /** sent to a worker without a try (two here already, or moved lately) */
  straight: number;
}

/** How long a query that moved goes to the workers without a try, and how many marks are kept. */
const HEAVY_FOR_MS = 10 * 60_000;
const MAX_MARKS = 10_000;
/**
 * The workers' answers within lightMs in a row that end a mark: 3 at its first move, twice as
 * many each time it moves again (a query whose time wanders around lightMs would otherwise pay
 * a wasted try of the whole budget every few requests), at most 96.
 */
const FIRST_NEED = 3;
const MAX_NEED = 96;

/** A query that moved: until when it goes straight to the workers, and its light answers in a row. */
interface Mark {
  until: number;
  light: number;
  need: number;
}

/**
 * Small queries in the api's thread, the rest in workers: a query is first evaluated here with
 * its deadline brought forward to `budgetMs` from now; one that reaches it (the evaluator checks
 * its deadline between reads, series and slices of computing) is evaluated again, from the start,
 * by `workers`, with its own deadline. A dashboard's queries of one host (a few milliseconds each)
 * thus skip the two hops between threads; a heavy one holds this thread at most about `budgetMs`
 * (plus one slice of computing, 10 ms) before it moves, and at most `maxInThread` queries are here
 * at once, so the thread stays free for logins, /health and the live stream. A query that moved
 * (the same text, range and step within a factor of about 1.4) goes to the workers without a try
 * for the next 10 minutes: a dashboard's heavy panels pay the try once; unless the workers
 * answer it within `lightMs` (a quarter of the budget) 3 times in a row, which makes it a query
 * that was slow here by chance (a cold first run, in a worker as cold), tried here again the next
 * time (6 times the next time it moves, and so on: see FIRST_NEED). `pool` should have
 * `budgetMs` as its statement_timeout (service.ts): PostgreSQL then cancels the statements of a
 * query that moved (their end, 57014, is a move too) instead of finishing work nobody reads.
 */
export function hybridEngine(pool: Pool, workers: QueryEngine, o: HybridOptions): QueryEngine & { counts: HybridCounts } {
  let here = 0;
  const counts: HybridCounts = { here: 0, moved: 0, straight: 0 };
  // Queries that moved, by text and the magnitude of their range and step (a dashboard asks the
  // same ones again): while marked, they go to the workers straight away.
  const marks = new Map<string, Mark>();
  const light = o.lightMs ?? o.budgetMs / 4;
  const now = o.clock ?? Date.now;
  /** The workers' answer to a query marked `m` (under `key`): `need` light ones in a row end the mark. */
  const timed = async <T>(key: string, m: Mark, remote: () => Promise<T>): Promise<T> => {
    const t0 = now();
    const r = await remote();
    if (marks.get(key) === m) {
      if (now() - t0 >= light) m.light = 0;
      else if (++m.light >= m.need) m.until = 0;
    }
    return r;
  };
  const attempt = async <T>(text: string, opts: EvalOptions, local: (o: EvalOptions) => Promise<T>, remote: () => Promise<T>): Promise<T> => {
    const key = `${Math.round(Math.log2(opts.end - opts.start + 1))} ${Math.round(Math.log2(opts.step))} ${text}`;
    const m = marks.get(key);
    if (m !== undefined && m.until > now()) {
      counts.straight++;
      return timed(key, m, remote);
    }
    if (here >= o.maxInThread) {
      counts.straight++;
      return remote();
    }
    const move = () => {
      counts.moved++;
      const before = marks.get(key);
      marks.delete(key);
      if (marks.size >= MAX_MARKS) marks.delete(marks.keys().next().value!);
      // Moved again after its mark ended: twice the light answers before the next try here.
      const mark: Mark = { until: now() + HEAVY_FOR_MS, light: 0, need: before ? Math.min(2 * before.need, MAX_NEED) : FIRST_NEED };
      marks.set(key, mark);
      return timed(key, mark, remote);
    };
    const cut = Date.now() + o.budgetMs;
    const cutShort = opts.deadline === undefined || cut < opts.deadline;
    here++;
    try {
      const r = await local({ ...opts, deadline: cutShort ? cut : opts.deadline! });
      counts.here++;
      return r;
    } catch (err) {
      // The budget, not the query's own deadline, ended it: the workers evaluate it afresh.
      if (cutShort && err instanceof PromError && err.type === 'timeout') return move();
      // A statement past the pool's statement_timeout (the budget): the same.
      if (err instanceof StoreError && err.pgCode === '57014') return move();
      throw err;
    } finally {
      here--;
    }
  };
  return {
    counts,
    evaluate: (text, opts) => attempt(text, opts, (x) => evaluate(pool, parsePromQL(text), x), () => workers.evaluate(text, opts)),
    answer: (text, opts, kind, parsed) => attempt(text, opts, (x) => answerOf(pool, text, x, kind, parsed), () => workers.answer(text, opts, kind)),
    close: async () => {
      await workers.close();
      await o.close?.();
    },
  };
}

/** What crosses back from a worker for a failed query. */
export type WorkerError =
  | { kind: 'prom'; type: PromErrorType; message: string }
  | { kind: 'store'; code: StoreErrorCode; message: string; transient: boolean; pgCode?: string | undefined }
  | { kind: 'other'; message: string };

export type WorkerRequest = { type: 'eval'; id: number; text: string; opts: EvalOptions; answer?: AnswerKind } | { type: 'close' };
export type WorkerReply =
  | { type: 'result'; id: number; value: ResultValue; times: Float64Array; tiers: ('raw' | '1m' | '1h')[] }
  | { type: 'answer'; id: number; json: string; tiers: ('raw' | '1m' | '1h')[] }
  | { type: 'error'; id: number; error: WorkerError }
  | { type: 'log'; level: 'error' | 'warn' | 'info'; obj: object; msg: string }
  | { type: 'closed' };

export function rebuildError(e: WorkerError): Error {
  if (e.kind === 'prom') return new PromError(e.type, e.message);
  if (e.kind === 'store') return new StoreError(e.code, e.message, { transient: e.transient, pgCode: e.pgCode });
  return new Error(e.message);
}

interface Pending {
  resolve: (o: EvalOutput | AnswerOutput) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * The worker's module beside this one: worker.js when built; worker.ts when the api runs from its
 * sources under tsx (tests, scripts), whose loader a worker of Node 20 does not inherit, so the
 * worker registers it first.
 */
function newWorker(options: ConstructorParameters<typeof Worker>[1]): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./worker${ext}`, import.meta.url);
  if (ext !== '.ts') return new Worker(url, options);
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** `size` workers, each with a pool made from `store` (the api's database settings). */
export function workerEngine(store: object, size: number, log: Logger): QueryEngine {
  const slots: (Slot | undefined)[] = new Array(size).fill(undefined);
  let next = 0;
  let ids = 0;
  let closed = false;

  const fail = (slot: Slot, err: Error) => {
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
  };

  const start = (i: number): Slot => {
    const worker = newWorker({ workerData: { store }, name: `promql-${i}` });
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'log') {
        log[m.level](m.obj, m.msg);
        return;
      }
      if (m.type !== 'result' && m.type !== 'answer' && m.type !== 'error') return;
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (m.type === 'result') p.resolve({ value: m.value, times: m.times, tiers: new Set(m.tiers) });
      else if (m.type === 'answer') p.resolve({ json: m.json, tiers: new Set(m.tiers) });
      else p.reject(rebuildError(m.error));
      // An idle worker does not keep the process alive.
      if (!slot.pending.size) worker.unref();
    });
    worker.on('error', (err) => {
      log.error({ err: err.message, worker: i }, 'a query worker failed; its queries fail, the next query starts a new one');
      fail(slot, new Error(`the query worker failed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (slots[i] === slot) slots[i] = undefined;
      if (slot.pending.size) fail(slot, new Error(`the query worker exited (${code})`));
    });
    worker.unref();
    slots[i] = slot;
    return slot;
  };

  const ask = <T extends EvalOutput | AnswerOutput>(text: string, opts: EvalOptions, answer?: AnswerKind): Promise<T> => {
    if (closed) return Promise.reject(new Error('the query engine is closed'));
    const i = next;
    next = (next + 1) % size;
    const slot = slots[i] ?? start(i);
    const id = ++ids;
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (o: EvalOutput | AnswerOutput) => void, reject });
      slot.worker.ref();
      slot.worker.postMessage({ type: 'eval', id, text, opts, ...(answer ? { answer } : {}) } satisfies WorkerRequest);
    });
  };

  return {
    evaluate: (text, opts) => ask<EvalOutput>(text, opts),
    answer: (text, opts, kind) => ask<AnswerOutput>(text, opts, kind),
    async close() {
      closed = true;
      await Promise.all(
        slots.map(async (slot) => {
          if (!slot) return;
          slot.worker.ref();
          // The worker closes its pool, then this side ends it (also when it does not answer).
          const done = new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 5_000);
            slot.worker.on('message', (m: WorkerReply) => {
              if (m.type === 'closed') {
                clearTimeout(t);
                resolve();
              }
            });
            slot.worker.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
          });
          slot.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
          await done;
          fail(slot, new Error('the query engine closed'));
          await slot.worker.terminate();
        }),
      );
    },
  };
}
