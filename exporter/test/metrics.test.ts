/**
 * metrics.ts: a page is rendered once per Snapshot and format and served as the same bytes (and
 * the same gzip) until a new Snapshot arrives; over HTTP, gzip is served when asked and is the
 * plain body once gunzipped.
 */
import { expect } from 'chai';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startExporter, type Exporter } from '../src/app.js';
import { COLLECTORS } from '../src/collectors/registry.js';
import { MetricsRenderer } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { parseExposition, quietLogger, testConfig } from './helpers.js';

const SOME = COLLECTORS.filter((c) => ['cpu', 'meminfo', 'loadavg'].includes(c.name));

function get(url: string, headers: Record<string, string> = {}): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('metrics renderer: one page per snapshot', () => {
  const pipeline = new SnapshotPipeline(testConfig({}, 'small'), SOME, quietLogger());
  const renderer = new MetricsRenderer({ version: 'test', revision: '' });
  after(() => renderer.close());

  it('renders a snapshot once per format and serves the same bytes after that', async () => {
    const snap = await pipeline.collect();
    const a = await renderer.page(snap, false);
    // busy in between, so a second render would show other process metrics
    for (let i = 0; i < 1e6; i++) Math.sqrt(i);
    const b = await renderer.page(snap, false);
    expect(b.body).to.equal(a.body);
    expect(await b.gzip()).to.equal(await a.gzip());
    expect(gunzipSync(await a.gzip()).equals(a.body)).to.equal(true);

    const om = await renderer.page(snap, true);
    expect(om.contentType).to.match(/openmetrics/);
    expect(om.body.toString().endsWith('# EOF\n')).to.equal(true);
    // the text page is still the cached one
    expect((await renderer.page(snap, false)).body).to.equal(a.body);
  });

  it('renders again when a new snapshot arrives', async () => {
    const first = await pipeline.collect();
    const a = await renderer.page(first, false);
    const second = await pipeline.collect();
    const b = await renderer.page(second, false);
    expect(b.body).to.not.equal(a.body);
    expect(parseExposition(b.body.toString()).get('process_cpu_seconds_total')).to.be.at.least(parseExposition(a.body.toString()).get('process_cpu_seconds_total')!);
    expect(gunzipSync(await b.gzip()).equals(b.body)).to.equal(true);
  });

  it('is the snapshot families, the process metrics, then the registry (build info)', async () => {
    const body = (await renderer.page(await pipeline.collect(), false)).body.toString();
    const order = ['# HELP perfwatch_cpu_seconds_total', '# HELP process_cpu_user_seconds_total', '# HELP nodejs_gc_duration_seconds', '# HELP perfwatch_build_info'].map((s) => body.indexOf(s));
    expect(order.every((i) => i >= 0)).to.equal(true);
    expect([...order].sort((x, y) => x - y)).to.deep.equal(order);
  });
});

describe('/metrics with background collection: cached pages and gzip', function () {
  let exporter: Exporter;
  before(async () => {
    // an interval of an hour: one snapshot for the whole test unless collectNow makes another
    exporter = await startExporter(testConfig({ BACKGROUND_COLLECTION_ENABLED: 'true', PERFWATCH_INTERVAL_SECONDS: '3600' }, 'small'), quietLogger(), { collectors: SOME });
  });
  after(() => exporter?.close());

  it('serves the same bytes until the next collection, then the new snapshot', async () => {
    const a = await get(`${exporter.url}/metrics`);
    const b = await get(`${exporter.url}/metrics`);
    expect(b.body.equals(a.body)).to.equal(true);
    const before = exporter.sampler.last!;
    const next = await exporter.sampler.collectNow();
    expect(next).to.not.equal(before);
    const c = await get(`${exporter.url}/metrics`);
    expect(c.body.equals(a.body)).to.equal(false);
    const ts = (text: Buffer) => parseExposition(text.toString()).get('process_cpu_seconds_total')!;
    expect(ts(c.body)).to.be.at.least(ts(a.body));
  });

  it('gzips when Accept-Encoding asks, and the gzip is the plain body', async () => {
    const plain = await get(`${exporter.url}/metrics`, { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).to.equal(undefined);
    const gz = await get(`${exporter.url}/metrics`, { 'accept-encoding': 'deflate, gzip;q=0.9' });
    expect(gz.headers['content-encoding']).to.equal('gzip');
    expect(gz.headers['content-length']).to.equal(String(gz.body.length));
    expect(gunzipSync(gz.body).equals(plain.body)).to.equal(true);
    const refused = await get(`${exporter.url}/metrics`, { 'accept-encoding': 'gzip;q=0' });
    expect(refused.headers['content-encoding']).to.equal(undefined);
    expect(refused.body.equals(plain.body)).to.equal(true);
  });

  it('keeps one page per format: OpenMetrics and text from the same snapshot', async () => {
    const text = await get(`${exporter.url}/metrics`);
    const om = await get(`${exporter.url}/metrics`, { accept: 'application/openmetrics-text; version=1.0.0' });
    expect(om.body.toString()).to.include('# TYPE perfwatch_cpu_seconds counter\n');
    expect(om.body.toString().endsWith('# EOF\n')).to.equal(true);
    expect((await get(`${exporter.url}/metrics`)).body.equals(text.body)).to.equal(true);
  });
});
