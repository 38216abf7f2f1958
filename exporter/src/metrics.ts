/**
 * /metrics rendering: the families of the current Snapshot (exposition.ts) followed by
 * prom-client's registry of the process's own metrics, build info and the metrics other
 * components add. Two registries, one per exposition format, because prom-client renames counters
 * in place when it renders OpenMetrics and so one metric object cannot serve both.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Snapshot } from '@perfwatch/store/snapshot';
import { writeFamilies } from './exposition.js';
import { snapshotFamilies } from './families.js';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

export interface BuildInfo {
  version: string;
  revision: string;
}

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

// prom-client's typings leave out the constructor's content-type argument.
export function registry(openMetrics: boolean): Registry {
  const r = new Registry();
  if (openMetrics) r.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  return r;
}

export class MetricsRenderer {
  private readonly registries: Record<'prom' | 'om', Registry>;

  constructor(build: BuildInfo, opts: { processMetrics?: boolean } = {}) {
    this.registries = { prom: registry(false), om: registry(true) };
    for (const register of Object.values(this.registries)) {
      if (opts.processMetrics !== false) {
        collectDefaultMetrics({ register });
        // Gauges named *_total, which promtool rejects; the handle counts are of little use here.
        for (const name of LINT_FAILING_DEFAULTS) register.removeSingleMetric(name);
      }
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

  async render(snap: Snapshot | undefined, openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    const base = openMetrics ? this.registries.om : this.registries.prom;
    const rest = await base.metrics();
    if (!snap) return { contentType: base.contentType, body: rest };
    const families = writeFamilies(snapshotFamilies(snap), openMetrics);
    return { contentType: base.contentType, body: `${families}${openMetrics ? '\n' : '\n\n'}${rest}` };
  }
}

/** Only the Snapshot's families, in the Prometheus text format: what the golden files pin. */
export function renderSnapshotText(snap: Snapshot): string {
  return `${writeFamilies(snapshotFamilies(snap), false)}\n`;
}
