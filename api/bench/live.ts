/**
 * Live stream fan-out: the api process (api/dist/main.js when built, else api/src/main.ts through
 * tsx; its own process so its CPU and memory can be read from /proc) with 100 WebSocket clients subscribed to one host; snapshots of the
 * large fixture host (exporter/test/fixtures/large, values moving as store/test/synth.ts makes
 * them) written with insertSnapshots (the exporter's path) at 1/s for 20 s, then a burst of
 * 20/s for 5 s. Prints the delivery latency from the insert's commit (insertSnapshots resolved)
 * to the receipt at each client, p50/p99/max, messages/s received, and the api's CPU (share of
 * one core over the phase) and RSS.
 *
 *   node --conditions=perfwatch-src --import tsx api/bench/live.ts
 *
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); BENCH_LIVE_CLIENTS=100,
 * BENCH_LIVE_SECONDS=20. The schema is the benchmark's own and dropped afterwards.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { insertSnapshots } from '@perfwatch/store';
import { benchSchema, cpuSeconds, fmt, percentile } from '../../store/bench/lib.js';
import { fixtureSnapshot, HostSim } from '../../store/test/synth.js';
import { apiCommand, login, spawnApi } from './lib.js';

const CLIENTS = Number(process.env.BENCH_LIVE_CLIENTS ?? 100);
const SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 20);
const BURST_RATE = 20;
const BURST_SECONDS = 5;
const HOST = 'bench-live';
const PASSWORD = 'bench-live-password-1';

function memory(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const { schema, pool, close } = benchSchema('live');
process.stdout.write(`# live stream fan-out (${new Date().toISOString()}): Node ${process.version}, ${cpus().length} CPUs\n`);

const cmd = apiCommand('built');
process.stdout.write(`api: ${cmd.what}\n`);
const api = await spawnApi({ schema, password: PASSWORD, command: cmd, env: { PERFWATCH_LIVE_MAX_CLIENTS_PER_USER: String(CLIENTS + 10) } });
const { child, port: apiPort } = api;
const clients: WebSocket[] = [];

try {
  await api.ready();
  const token = await login(api.base, PASSWORD);

  // Received messages: ts -> receipt times (ms, performance.now()).
  const receipts = new Map<number, number[]>();
  let bytes = 0;
  await Promise.all(
    Array.from(
      { length: CLIENTS },
      () =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${apiPort}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } });
          clients.push(ws);
          ws.on('message', (data) => {
            const now = performance.now();
            const text = String(data);
            const m = JSON.parse(text) as { type: string; ts?: number };
            if (m.type === 'subscribed') return resolve();
            if (m.type !== 'snapshot') return;
            bytes += text.length;
            let r = receipts.get(m.ts!);
            if (!r) receipts.set(m.ts!, (r = []));
            r.push(now);
          });
          ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', hosts: [HOST] })));
          ws.once('error', reject);
        }),
    ),
  );

  const sim = new HostSim(fixtureSnapshot('large'), HOST, 7);
  let ts = Date.UTC(2030, 0, 1);
  // The host exists and has a snapshot before timing (the first write registers it).
  await insertSnapshots(pool, [sim.next(ts)]);
  await sleep(500);
  const size = Buffer.byteLength(JSON.stringify(sim.next(ts - 1)));

  async function phase(name: string, rate: number, seconds: number): Promise<void> {
    receipts.clear();
    bytes = 0;
    const committed = new Map<number, number>();
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = performance.now();
    const n = Math.round(rate * seconds);
    for (let i = 0; i < n; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const s = sim.next((ts += 1000));
      await insertSnapshots(pool, [s]);
      committed.set(s.ts, performance.now());
    }
    // Let the last ones arrive (or be missing).
    for (let i = 0; i < 50 && [...committed.keys()].some((k) => (receipts.get(k)?.length ?? 0) < CLIENTS); i++) await sleep(100);
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(child.pid!) - cpu0;
    const lat: number[] = [];
    let missing = 0;
    for (const [k, at] of committed) {
      const r = receipts.get(k) ?? [];
      missing += CLIENTS - r.length;
      for (const x of r) lat.push(x - at);
    }
    lat.sort((a, b) => a - b);
    const mem = memory(child.pid!);
    process.stdout.write(
      `${name}: ${n} snapshots at ${rate}/s to ${CLIENTS} clients: latency commit->receipt p50 ${fmt(percentile(lat, 50), 1)} ms, p99 ${fmt(percentile(lat, 99), 1)} ms, max ${fmt(lat[lat.length - 1] ?? NaN, 1)} ms; ` +
        `${fmt(lat.length / wall)} messages/s received (${fmt(bytes / wall / 1e6, 1)} MB/s), ${missing} missing; ` +
        `api CPU ${fmt((cpu / wall) * 100, 1)}% of one core, RSS ${fmt(mem.rss / 2 ** 20)} MiB (peak ${fmt(mem.hwm / 2 ** 20)} MiB)\n`,
    );
  }

  process.stdout.write(`snapshot: exporter/test/fixtures/large (${fmt(size / 1024, 1)} KiB of JSON per message)\n`);
  await phase('steady', 1, SECONDS);
  await phase('burst', BURST_RATE, BURST_SECONDS);
} finally {
  for (const ws of clients) ws.terminate();
  await api.stop();
  await close();
}
