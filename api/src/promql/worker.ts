/**
 * A query worker (engine.ts): its own database pool, evaluations of the queries it is sent, each
 * answered with its value or its error, and log lines forwarded to the api's logger.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { closePool, createPool, errorMessage, StoreError, type Logger } from '@perfwatch/store';
import { answerOf, type WorkerError, type WorkerReply, type WorkerRequest } from './engine.js';
import { PromError } from './errors.js';
import { evaluate } from './eval.js';
import { parsePromQL } from './parse.js';

const port = parentPort!;
const send = (m: WorkerReply) => port.postMessage(m);

const forward = (level: 'error' | 'warn' | 'info') => (a: object | string, b?: string) =>
  send({ type: 'log', level, obj: typeof a === 'string' ? {} : a, msg: typeof a === 'string' ? a : (b ?? '') });
const log: Logger = { error: forward('error'), warn: forward('warn'), info: forward('info'), debug: () => undefined, child: () => log };

const pool = createPool((workerData as { store: Parameters<typeof createPool>[0] }).store, log);

function describe(err: unknown): WorkerError {
  if (err instanceof PromError) return { kind: 'prom', type: err.type, message: err.message };
  if (err instanceof StoreError) return { kind: 'store', code: err.code, message: err.message, transient: err.transient, pgCode: err.pgCode };
  return { kind: 'other', message: errorMessage(err) };
}

port.on('message', (m: WorkerRequest) => {
  if (m.type === 'close') {
    closePool(pool).finally(() => send({ type: 'closed' }));
    return;
  }
  // (parsed inside the chain: a query that does not parse is its error reply, never an exception
  // that would end the worker and every query it holds)
  const fail = (err: unknown) => send({ type: 'error', id: m.id, error: describe(err) });
  const { answer } = m;
  if (answer) {
    Promise.resolve(m.text).then((text) => answerOf(pool, text, m.opts, answer)).then((r) => send({ type: 'answer', id: m.id, json: r.json, tiers: [...r.tiers] }), fail);
    return;
  }
  Promise.resolve(m.text).then((text) => evaluate(pool, parsePromQL(text), m.opts)).then((r) => send({ type: 'result', id: m.id, value: r.value, times: r.times, tiers: [...r.tiers] }), fail);
});
