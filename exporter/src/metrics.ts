/**
 * /metrics rendering: the families of the current Snapshot (exposition.ts), the exporter's own
 * process metrics (selfmetrics.ts), then build info and the metrics other components add
 * (addStatic: the database writer's), read at each render. All of it is written here, in the
 * bytes prom-client's Registry prints for the same families (exposition.test.ts holds them
 * against each other), without loading prom-client, whose modules (and @opentelemetry/api's)
 * held ~5 MB of the exporter's resident memory (#13).
 *
 * A page is rendered once per Snapshot and format and kept, with its gzip made the first time a
 * client asks for it: with background collection, scrapes between two collections are served
 * those bytes, so a scrape of a cached snapshot costs a write of a Buffer (bench/exporter.ts).
 * Everything on the page, the process and writer metrics included, is read when the page is
 * rendered, so one page is one moment.
 */
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import type { Snapshot } from '@perfwatch/store/snapshot';
import { formatValue, helpAndType, writeFamilies, writeFamily } from './exposition.js';
import { snapshotFamilies, type Family } from './families.js';
import { SelfMetrics } from './selfmetrics.js';

const gzipAsync = promisify(gzip);
// Fastest level: a ~130 KB page gzips in ~0.7 ms to 19 KB instead of ~1.7 ms to 17 KB at the
// default level 6; with scrapes every 15 s each scrape pays for one, and the bytes go over a LAN.
const GZIP_OPTIONS = { level: constants.Z_BEST_SPEED };

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** A histogram read at each render (the writer's batch durations). */
export interface HistogramFamily {
  name: string;
  help: string;
  type: 'histogram';
  /** upper bounds, ascending (+Inf follows) */
  bounds: readonly number[];
  /** observations per bucket, not cumulative: bounds.length + 1 (the last above every bound) */
  counts: readonly number[];
  sum: number;
}

/** A family rendered besides the Snapshot's, read at each render. */
export type StaticFamily = Family | HistogramFamily;

function writeHistogram(f: HistogramFamily): string {
  const lines = [helpAndType(f.name, f.help, f.type)];
  let cumulative = 0;
  f.bounds.forEach((b, i) => {
    cumulative += f.counts[i] ?? 0;
    lines.push(`${f.name}_bucket{le="${formatValue(b)}"} ${cumulative}`);
  });
  cumulative += f.counts[f.bounds.length] ?? 0;
  lines.push(`${f.name}_bucket{le="+Inf"} ${cumulative}`, `${f.name}_sum ${formatValue(f.sum)}`, `${f.name}_count ${cumulative}`);
  return lines.join('\n');
}

/**
 * Static families as prom-client's Registry prints them (writeFamily, and histograms' buckets,
 * sum and count): blank lines between families and a final newline (text 0.0.4), or none and
 * `# EOF` (OpenMetrics).
 */
export function writeStaticFamilies(families: readonly StaticFamily[], openMetrics: boolean): string {
  const parts = families.map((f) => (f.type === 'histogram' ? writeHistogram(f) : writeFamily(f, openMetrics)));
  return openMetrics ? `${parts.join('\n')}\n# EOF\n` : `${parts.join('\n\n')}\n`;
}

/** A histogram's state, observed into: what StaticFamily's histogram reads. */
export class HistogramState {
  readonly counts: number[];
  sum = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(v: number): void {
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
  }
}

export interface BuildInfo {
  version: string;
  revision: string;
}

/** One rendered /metrics body. */
export interface Page {
  contentType: string;
  body: Buffer;
  /** the body gzipped, made on the first call and kept */
  gzip(): Promise<Buffer>;
}

export class MetricsRenderer {
  private readonly self: SelfMetrics | undefined;
  private readonly statics: (() => StaticFamily[])[] = [];
  /** the page last rendered per format, and the Snapshot it shows */
  private readonly pages: Record<'prom' | 'om', { snap: Snapshot; page: Promise<Page> } | undefined> = { prom: undefined, om: undefined };

  constructor(build: BuildInfo, opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) this.self = new SelfMetrics();
    const info: StaticFamily[] = [
      {
        name: 'perfwatch_build_info',
        help: 'Always 1; the labels say which PerfWatch build and Node.js runtime serve these metrics.',
        type: 'gauge',
        values: [{ labels: { version: build.version, revision: build.revision, nodejs: process.versions.node }, value: 1 }],
      },
    ];
    this.statics.push(() => info);
  }

  /** Adds families owned by another component (the database writer), read at each render. */
  addStatic(families: () => StaticFamily[]): void {
    this.statics.push(families);
  }

  /** Renders now: the Snapshot's families (none when undefined), the process metrics, the static ones. */
  async render(snap: Snapshot | undefined, openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    const sep = openMetrics ? '\n' : '\n\n';
    let head = snap ? `${writeFamilies(snapshotFamilies(snap), openMetrics)}${sep}` : '';
    if (this.self) head += `${this.self.render(openMetrics)}${sep}`;
    const body = `${head}${writeStaticFamilies(this.statics.flatMap((f) => f()), openMetrics)}`;
    return { contentType: openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, body };
  }

  /** The page of this Snapshot: rendered at the first call for it, the same bytes after that. */
  page(snap: Snapshot, openMetrics: boolean): Promise<Page> {
    const key = openMetrics ? 'om' : 'prom';
    const cached = this.pages[key];
    if (cached?.snap === snap) return cached.page;
    const page = this.render(snap, openMetrics).then(({ contentType, body }): Page => {
      const bytes = Buffer.from(body);
      let gz: Promise<Buffer> | undefined;
      return { contentType, body: bytes, gzip: () => (gz ??= gzipAsync(bytes, GZIP_OPTIONS)) };
    });
    this.pages[key] = { snap, page };
    // a failed render is not kept: the next scrape tries again
    page.catch(() => {
      if (this.pages[key]?.page === page) this.pages[key] = undefined;
    });
    return page;
  }

  /** Stops the process metrics' event-loop and GC observers. */
  close(): void {
    this.self?.close();
  }
}

/** Only the Snapshot's families, in the Prometheus text format: what the golden files pin. */
export function renderSnapshotText(snap: Snapshot): string {
  return `${writeFamilies(snapshotFamilies(snap), false)}\n`;
}
