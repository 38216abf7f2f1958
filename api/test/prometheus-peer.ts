/**
 * A real Prometheus (Debian's `prometheus` 2.42) as the peer of the PromQL differential test
 * (promql-compliance.test.ts): started on a free port with a temporary TSDB, samples written into it
 * through its remote-write receiver, stopped and removed afterwards.
 *
 * Why remote write and not `promtool tsdb create-blocks-from openmetrics`: OpenMetrics text cannot
 * carry staleness markers, and the peer must see a host's series end where its snapshots stop, as
 * Prometheus's scrape loop ends them. Remote write stores the special StaleNaN value as a real
 * staleness marker.
 *
 * The request is a protobuf WriteRequest, hand-encoded here:
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }
 * compressed in snappy's block format. The compressor writes literal elements only (no back
 * references): a valid snappy stream that any decoder reads, so no compression library is needed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './helpers.js';

/** One series as written: labels with `__name__`, sample times (Unix ms, ascending) and values. */
export interface PeerSeries {
  labels: Record<string, string>;
  t: number[];
  v: number[];
}

/** Prometheus's staleness marker (value.StaleNaN): a NaN with this bit pattern. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
/** A staleness marker in WireSeries.v, written as StaleNaN. */
export const STALE = Symbol('stale');

/** Where the peer's binary is, or why there is none. */
export function prometheusBinary(): { path: string; version: string } | { missing: string } {
  const r = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { missing: 'prometheus is not installed (apt-get install prometheus, or run npm test, which installs it)' };
  const version = /version (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
  return { path: 'prometheus', version };
}

// ---- protobuf and snappy -------------------------------------------------------------------------------

class ByteWriter {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private view = new DataView(this.buf.buffer);

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  /** An unsigned varint of a non-negative integer up to 2^53 (arithmetic, not 32-bit shifts). */
  varint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`varint of ${n}`);
    this.room(10);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** fixed64 little-endian: a double, or StaleNaN's exact bits (a JS NaN need not keep its payload). */
  double(v: number | typeof STALE): void {
    this.room(8);
    if (v === STALE) this.view.setBigUint64(this.len, STALE_NAN_BITS, true);
    else this.view.setFloat64(this.len, v, true);
    this.len += 8;
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

const enc = new TextEncoder();

/** A length-delimited field: tag, length, bytes. */
function field(w: ByteWriter, tag: number, body: Uint8Array): void {
  w.byte(tag);
  w.varint(body.length);
  w.bytes(body);
}

/** One TimeSeries message with the samples of indexes [from, to). */
function encodeSeries(labels: [string, string][], t: number[], v: (number | typeof STALE)[], from: number, to: number): Uint8Array {
  const w = new ByteWriter();
  for (const [name, value] of labels) {
    const l = new ByteWriter();
    field(l, 0x0a, enc.encode(name));
    field(l, 0x12, enc.encode(value));
    field(w, 0x0a, l.done());
  }
  const s = new ByteWriter();
  for (let i = from; i < to; i++) {
    s.len = 0;
    s.byte(0x09); // value: field 1, fixed64
    s.double(v[i]!);
    s.byte(0x10); // timestamp: field 2, varint
    s.varint(t[i]!);
    field(w, 0x12, s.done());
  }
  return w.done().slice();
}

/** snappy block format with literal elements only: varint length, then literals of up to 64 KiB. */
export function snappyLiteral(data: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  w.varint(data.length);
  for (let i = 0; i < data.length; i += 0x10000) {
    const chunk = data.subarray(i, Math.min(data.length, i + 0x10000));
    const n = chunk.length - 1;
    if (n < 60) w.byte(n << 2);
    else if (n < 0x100) {
      w.byte(60 << 2);
      w.byte(n);
    } else {
      w.byte(61 << 2);
      w.byte(n & 0xff);
      w.byte(n >> 8);
    }
    w.bytes(chunk);
  }
  return w.done();
}

/** A series ready to write: sorted labels (empty values dropped, as Prometheus's model has them) and samples. */
export interface WireSeries {
  labels: [string, string][];
  t: number[];
  v: (number | typeof STALE)[];
}

export function wireSeries(labels: Record<string, string>, t: number[], v: (number | typeof STALE)[]): WireSeries {
  const sorted = Object.entries(labels)
    .filter(([, x]) => x !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { labels: sorted, t, v };
}

/** First index i with t[i] >= x. */
function lowerBound(t: number[], x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---- staleness markers ---------------------------------------------------------------------------------------

/**
 * The staleness markers Prometheus's scrape loop would have written for these series, given each
 * host's snapshot times (ascending) and the scrape interval: after snapshot T_j, when the next one is
 * more than 1.5 intervals later or there is none (failed scrapes), every series present at T_j gets a
 * marker at T_j + interval; a series present at T_j and absent from the next, regular snapshot
 * T_{j+1} gets one at T_{j+1}. Returns the series with their markers merged in (time order).
 */
export function withStalenessMarkers(series: PeerSeries[], hostOf: (s: PeerSeries) => string, snapshotTimes: Map<string, number[]>, intervalMs: number): WireSeries[] {
  return series.map((s) => {
    const times = snapshotTimes.get(hostOf(s));
    if (!times) throw new Error(`no snapshot times for host ${hostOf(s)}`);
    const t: number[] = [];
    const v: (number | typeof STALE)[] = [];
    let k = 0; // next sample of s
    for (let j = 0; j < times.length; j++) {
      const tj = times[j]!;
      while (k < s.t.length && s.t[k]! < tj) {
        // a sample at a time that is not a snapshot time: keep it (cannot happen with store reads)
        t.push(s.t[k]!);
        v.push(s.v[k]!);
        k++;
      }
      if (k >= s.t.length || s.t[k] !== tj) continue;
      t.push(tj);
      v.push(s.v[k]!);
      k++;
      const next = times[j + 1];
      if (next === undefined || next - tj > 1.5 * intervalMs) {
        t.push(tj + intervalMs);
        v.push(STALE);
      } else if (s.t[k] !== next) {
        t.push(next);
        v.push(STALE);
      }
    }
    for (; k < s.t.length; k++) {
      t.push(s.t[k]!);
      v.push(s.v[k]!);
    }
    return wireSeries(s.labels, t, v);
  });
}

// ---- the server ------------------------------------------------------------------------------------------------

export interface PrometheusPeer {
  url: string;
  version: string;
  /**
   * Writes the series through remote write, in global time order: requests of `chunkMs` of all
   * series each, ascending, so the TSDB head accepts every sample. Returns the samples written
   * (markers included).
   */
  write(series: WireSeries[], chunkMs?: number): Promise<number>;
  /** An instant query's JSON answer. */
  query(expr: string, timeSec: number): Promise<unknown>;
  /** stops the server (SIGTERM, SIGKILL after 10 s) and removes its directory; idempotent. */
  close(): Promise<void>;
}

const CONFIG = `# PerfWatch's PromQL differential test: no scrapes; the default subquery step is the
# evaluation interval, 1m.
global:
  scrape_interval: 10s
  evaluation_interval: 1m
`;

// Every peer this process started, killed synchronously if the process exits without closing them.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Starts Prometheus on a free 127.0.0.1 port with a temporary TSDB and waits for /-/ready. `args`:
 * more flags (the PromQL benchmark's 30 days need `--storage.tsdb.retention.time` past the default 15d).
 */
export async function startPrometheus(opts: { readyTimeoutMs?: number; args?: string[] } = {}): Promise<PrometheusPeer> {
  const bin = prometheusBinary();
  if ('missing' in bin) throw new Error(bin.missing);
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), CONFIG);
  let child: ChildProcess | undefined;
  let output = '';
  let closed = false;

  const stop = async () => {
    const c = child;
    child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (c) running.delete(c);
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // A port free when asked can be taken before Prometheus binds it: then try another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      output = '';
      const c = spawn(
        bin.path,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--web.enable-remote-write-receiver',
          '--log.level=warn',
          ...(opts.args ?? []),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = c;
      running.add(c);
      const keep = (d: Buffer) => {
        output = (output + d.toString('utf8')).slice(-8_000);
      };
      c.stdout!.on('data', keep);
      c.stderr!.on('data', keep);
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
      let ready = false;
      while (Date.now() < deadline && c.exitCode === null && c.signalCode === null) {
        const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
        if (ok) {
          ready = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      if (ready) return peer(url, bin.version, close);
      await stop();
      if (attempt < 3 && /address already in use/.test(output)) continue;
      throw new Error(`prometheus did not become ready on ${url}: ${output.trim() || 'no output'}`);
    }
  } catch (err) {
    await close();
    throw err;
  }
}

function peer(url: string, version: string, close: () => Promise<void>): PrometheusPeer {
  const post = async (body: Uint8Array) => {
    const r = await fetch(`${url}/api/v1/write`, {
      method: 'POST',
      headers: {
        'content-encoding': 'snappy',
        'content-type': 'application/x-protobuf',
        'x-prometheus-remote-write-version': '0.1.0',
        'user-agent': 'perfwatch-promql-compliance',
      },
      body: snappyLiteral(body),
    });
    if (r.status !== 204 && r.status !== 200) throw new Error(`remote write: ${r.status} ${await r.text()}`);
  };
  return {
    url,
    version,
    async write(series, chunkMs = 10 * 60_000) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const s of series) {
        if (!s.t.length) continue;
        lo = Math.min(lo, s.t[0]!);
        hi = Math.max(hi, s.t[s.t.length - 1]!);
      }
      let written = 0;
      for (let from = Math.floor(lo / chunkMs) * chunkMs; from <= hi; from += chunkMs) {
        const req = new ByteWriter();
        for (const s of series) {
          const a = lowerBound(s.t, from);
          const b = lowerBound(s.t, from + chunkMs);
          if (a === b) continue;
          field(req, 0x0a, encodeSeries(s.labels, s.t, s.v, a, b));
          written += b - a;
        }
        if (req.len) await post(req.done());
      }
      return written;
    },
    async query(expr, timeSec) {
      const r = await fetch(`${url}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: expr, time: String(timeSec) }).toString() });
      return r.json();
    },
    close,
  };
}
