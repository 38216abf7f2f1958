/**
 * /metrics rendering: the families of the current Snapshot (exposition.ts), the exporter's own
 * process metrics (selfmetrics.ts), then prom-client's registry of build info and the metrics
 * other components add. Two registries, one per exposition format, because prom-client renames
 * counters in place when it renders OpenMetrics and so one metric object cannot serve both.
 *
 * A page is rendered once per Snapshot and format and kept, with its gzip made the first time a
 * client asks for it: with background collection, scrapes between two collections are served
 * those bytes, so a scrape of a cached snapshot costs a write of a Buffer (bench/exporter.ts).
 * Everything on the page, the process and writer metrics included, is read when the page is
 * rendered, so one page is one moment.
 */
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import { Gauge, Registry } from 'prom-client';
import type { Snapshot } from '@perfwatch/store/snapshot';
import { writeFamilies } from './exposition.js';
import { snapshotFamilies } from './families.js';
import { SelfMetrics } from './selfmetrics.js';

const gzipAsync = promisify(gzip);
// Fastest level: a ~130 KB page gzips in ~0.7 ms to 19 KB instead of ~1.7 ms to 17 KB at the
// default level 6; with scrapes every 15 s each scrape pays for one, and the bytes go over a LAN.
const GZIP_OPTIONS = { level: constants.Z_BEST_SPEED };

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

export interface BuildInfo {
  version: string;
  revision: string;
}

// prom-client's typings leave out the constructor's content-type argument.
export function registry(openMetrics: boolean): Registry {
  const r = new Registry();
  if (openMetrics) r.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  return r;
}

/** One rendered /metrics body. */
export interface Page {
  contentType: string;
  body: Buffer;
  /** the body gzipped, made on the first call and kept */
  gzip(): Promise<Buffer>;
}

export class MetricsRenderer {
  private readonly registries: Record<'prom' | 'om', Registry>;
  private readonly self: SelfMetrics | undefined;
  /** the page last rendered per format, and the Snapshot it shows */
  private readonly pages: Record<'prom' | 'om', { snap: Snapshot; page: Promise<Page> } | undefined> = { prom: undefined, om: undefined };

  constructor(build: BuildInfo, opts: { processMetrics?: boolean } = {}) {
    this.registries = { prom: registry(false), om: registry(true) };
    if (opts.processMetrics !== false) this.self = new SelfMetrics();
    for (const register of Object.values(this.registries)) {
      new Gauge({
        name: 'perfwatch_build_info',
        help: 'Always 1; the labels say which PerfWatch build and Node.js runtime serve these metrics.',
        labelNames: ['version', 'revision', 'nodejs'],
        registers: [register],
      }).set({ version: build.version, revision: build.revision, nodejs: process.versions.node }, 1);
    }
  }

  /**
   * Adds metrics owned by another component (the database writer, the perf collector); `create`
   * runs once per registry and must create its metric objects with `registers: [register]`.
   */
  addStatic(create: (register: Registry) => void): void {
    for (const register of Object.values(this.registries)) create(register);
  }

  /** Renders now: the Snapshot's families (none when undefined), the process metrics, the registry's. */
  async render(snap: Snapshot | undefined, openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    const base = openMetrics ? this.registries.om : this.registries.prom;
    const sep = openMetrics ? '\n' : '\n\n';
    let head = snap ? `${writeFamilies(snapshotFamilies(snap), openMetrics)}${sep}` : '';
    if (this.self) head += `${this.self.render(openMetrics)}${sep}`;
    return { contentType: base.contentType, body: `${head}${await base.metrics()}` };
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
