/**
 * The exporter's own process and Node.js runtime metrics: the families prom-client's
 * collectDefaultMetrics serves (same names, help, types and labels; exporter/test/selfmetrics.test.ts
 * holds the two side by side), read only when /metrics renders and printed by exposition.ts.
 *
 * Why not collectDefaultMetrics: it keeps a perf_hooks event-loop-delay monitor sampling every
 * 10 ms, one per registry (two here, one per exposition format), which woke the idle exporter
 * 200 times a second and cost ~5 ms of CPU a second, more than the collections themselves; and
 * reading its ~60 series through prom-client's metric objects cost ~1.5 ms a render. Here the
 * loop delay is sampled once a second (LAG_RESOLUTION_MS) and everything else is read on demand.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { formatValue, writeFamilies } from './exposition.js';
import type { Family, Labels } from './families.js';

/** How often the event-loop delay is sampled: often enough to see a stall of a second, rarely enough to cost nothing. */
export const LAG_RESOLUTION_MS = 1000;

/** prom-client's default GC buckets, in seconds. */
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const GC_HELP = 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.';

const LAG_GAUGES = [
  ['min', 'The minimum recorded event loop delay.'],
  ['max', 'The maximum recorded event loop delay.'],
  ['mean', 'The mean of the recorded event loop delays.'],
  ['stddev', 'The standard deviation of the recorded event loop delays.'],
  ['p50', 'The 50th percentile of the recorded event loop delays.'],
  ['p90', 'The 90th percentile of the recorded event loop delays.'],
  ['p99', 'The 99th percentile of the recorded event loop delays.'],
] as const;

interface GcKind {
  labels: Labels;
  buckets: number[];
  sum: number;
  count: number;
}

function gauge(name: string, help: string, value: number, labels: Labels = {}): Family {
  return { name, help, type: 'gauge', values: [{ labels, value }] };
}

function byType(name: string, help: string, types: Iterable<string>): Family {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return { name, help, type: 'gauge', values: [...counts].map(([type, value]) => ({ labels: { type }, value })) };
}

/** VmRSS, VmSize and VmData of /proc/self/status in bytes (what prom-client's Linux memory metrics read). */
function statusMemory(): { rss: number; size: number; data: number } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), size: kb('VmSize'), data: kb('VmData') };
}

/** The soft RLIMIT_NOFILE from /proc/self/limits; undefined where there is no procfs. */
function maxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const n = Number(line?.split(/  +/)[1]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export class SelfMetrics {
  private readonly startTime = Math.round(Date.now() / 1000 - process.uptime());
  private readonly maxFds = maxFds();
  private readonly version = process.version;
  private readonly lagHistogram: IntervalHistogram;
  /** nodejs_eventloop_lag_seconds: how late a setImmediate queued at the previous render ran (prom-client's measure). */
  private lag = 0;
  private readonly gc = new Map<string, GcKind>();
  private readonly gcObserver: PerformanceObserver;

  constructor() {
    this.lagHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.lagHistogram.enable();
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = GC_KINDS[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1];
        if (kind !== undefined) this.observeGc(kind, entry.duration / 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  private observeGc(kind: string, seconds: number): void {
    let k = this.gc.get(kind);
    if (!k) this.gc.set(kind, (k = { labels: { kind }, buckets: GC_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < GC_BUCKETS.length; i++) if (seconds <= GC_BUCKETS[i]!) k.buckets[i]!++;
    k.sum += seconds;
    k.count++;
  }

  /** The counter and gauge families, in prom-client's order, read now. Resets the loop-delay window. */
  families(): Family[] {
    const cpu = process.cpuUsage();
    const user = cpu.user / 1e6;
    const system = cpu.system / 1e6;
    const out: Family[] = [
      { name: 'process_cpu_user_seconds_total', help: 'Total user CPU time spent in seconds.', type: 'counter', values: [{ labels: {}, value: user }] },
      { name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', type: 'counter', values: [{ labels: {}, value: system }] },
      { name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', type: 'counter', values: [{ labels: {}, value: user + system }] },
      gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', this.startTime),
    ];
    const mem = statusMemory();
    if (mem) {
      out.push(
        gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss),
        gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', mem.size),
        gauge('process_heap_bytes', 'Process heap size in bytes.', mem.data),
      );
    }
    try {
      // minus the fd readdirSync itself held
      out.push(gauge('process_open_fds', 'Number of open file descriptors.', readdirSync('/proc/self/fd').length - 1));
    } catch {
      // no procfs: absent, as with prom-client
    }
    if (this.maxFds !== undefined) out.push(gauge('process_max_fds', 'Maximum number of open file descriptors.', this.maxFds));

    out.push(gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', this.lag));
    const start = process.hrtime.bigint();
    setImmediate(() => (this.lag = Number(process.hrtime.bigint() - start) / 1e9));
    const h = this.lagHistogram;
    const lag: Record<(typeof LAG_GAUGES)[number][0], number> = {
      min: h.min,
      max: h.max,
      mean: h.mean,
      stddev: h.stddev,
      p50: h.percentile(50),
      p90: h.percentile(90),
      p99: h.percentile(99),
    };
    for (const [k, help] of LAG_GAUGES) out.push(gauge(`nodejs_eventloop_lag_${k}_seconds`, help, lag[k] / 1e9));
    h.reset();

    out.push(
      byType(
        'nodejs_active_resources',
        'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
        process.getActiveResourcesInfo(),
      ),
    );
    // The private APIs prom-client reads for these two; absent if a Node.js release drops them.
    const p = process as unknown as { _getActiveHandles?: () => object[]; _getActiveRequests?: () => object[] };
    if (p._getActiveHandles) {
      out.push(
        byType('nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', p._getActiveHandles().map((o) => o.constructor.name)),
      );
    }
    if (p._getActiveRequests) {
      out.push(
        byType('nodejs_active_requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', p._getActiveRequests().map((o) => o.constructor.name)),
      );
    }

    const usage = process.memoryUsage();
    out.push(
      gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', usage.heapTotal),
      gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', usage.heapUsed),
      gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', usage.external),
    );
    const spaces = getHeapSpaceStatistics().map((s) => ({ ...s, space: s.space_name.replace(/_space$/, '') }));
    for (const [what, key] of [['total', 'space_size'], ['used', 'space_used_size'], ['available', 'space_available_size']] as const) {
      out.push({
        name: `nodejs_heap_space_size_${what}_bytes`,
        help: `Process heap space size ${what} from Node.js in bytes.`,
        type: 'gauge',
        values: spaces.map((s) => ({ labels: { space: s.space }, value: s[key] })),
      });
    }
    const [major = '', minor = '', patch = ''] = this.version.slice(1).split('.');
    out.push(gauge('nodejs_version_info', 'Node.js version info.', 1, { version: this.version, major, minor, patch }));
    return out;
  }

  /** The nodejs_gc_duration_seconds histogram, as prom-client prints it (the same in both formats). */
  gcHistogram(): string {
    let text = `# HELP nodejs_gc_duration_seconds ${GC_HELP}\n# TYPE nodejs_gc_duration_seconds histogram`;
    for (const k of this.gc.values()) {
      GC_BUCKETS.forEach((le, i) => (text += `\nnodejs_gc_duration_seconds_bucket{le="${le}",kind="${k.labels.kind}"} ${k.buckets[i]}`));
      text += `\nnodejs_gc_duration_seconds_bucket{le="+Inf",kind="${k.labels.kind}"} ${k.count}`;
      text += `\nnodejs_gc_duration_seconds_sum{kind="${k.labels.kind}"} ${formatValue(k.sum)}`;
      text += `\nnodejs_gc_duration_seconds_count{kind="${k.labels.kind}"} ${k.count}`;
    }
    return text;
  }

  /** Every family in one exposition format, without a trailing separator. */
  render(openMetrics: boolean): string {
    return `${writeFamilies(this.families(), openMetrics)}${openMetrics ? '\n' : '\n\n'}${this.gcHistogram()}`;
  }

  close(): void {
    this.lagHistogram.disable();
    this.gcObserver.disconnect();
  }
}
