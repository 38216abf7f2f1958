/**
 * The exporter as a person runs it: its own process on this machine's real /proc, scraped over
 * real HTTP.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseExposition, promtoolCheck, scrape } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('exporter end to end on this machine', function () {
  let child: ChildProcess;
  let base: string;

  before(async function () {
    child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, PERFWATCH_EXPORTER_PORT: '0', PERFWATCH_EXPORTER_HOST: '127.0.0.1', PERFWATCH_INTERVAL_SECONDS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = out.match(/exporter listening on (http:\/\/[^/]+)\/metrics/);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exporter exited ${code}: ${out}`)));
    });
  });

  after(() => {
    child?.kill('SIGTERM');
  });

  it('serves /metrics with every default collector succeeding', async () => {
    const r = await scrape(`${base}/metrics`);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    const m = parseExposition(r.body);
    for (const c of ['cpu', 'meminfo', 'loadavg', 'vmstat', 'uptime', 'diskstats', 'netdev', 'netstat', 'sockstat', 'filesystem', 'filefd']) {
      expect(m.get(`perfwatch_scrape_collector_success{collector="${c}"}`), c).to.equal(1);
    }
    // one idle series per CPU of this machine
    const idle = [...m.keys()].filter((k) => k.startsWith('perfwatch_cpu_seconds_total{') && k.includes('mode="idle"'));
    expect(idle).to.have.length(cpus().length);
    expect(m.get('perfwatch_memory_mem_total_bytes')).to.be.greaterThan(0);
    const root = [...m].find(([k]) => k.startsWith('perfwatch_filesystem_size_bytes{') && k.includes('mountpoint="/"'));
    expect(root?.[1], 'size of /').to.be.greaterThan(0);
    expect([...m.keys()].some((k) => k.startsWith('perfwatch_build_info{version="0.1.0"'))).to.equal(true);
    expect(m.has('process_resident_memory_bytes')).to.equal(true);
  });

  it('passes promtool check metrics with no lint output', async function () {
    const r = await scrape(`${base}/metrics`);
    const check = promtoolCheck(r.body);
    if (!check) {
      console.log('      promtool not installed (Debian package prometheus); npm test installs it as root');
      this.skip();
    }
    expect(check!.output).to.equal('');
    expect(check!.status).to.equal(0);
  });

  it('serves OpenMetrics when Accept asks for it', async () => {
    const r = await scrape(`${base}/metrics`, { accept: 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5' });
    expect(r.headers.get('content-type')).to.equal('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(r.body.endsWith('# EOF\n')).to.equal(true);
    // OpenMetrics names the counter family without _total and its samples with it.
    expect(r.body).to.include('# TYPE perfwatch_cpu_seconds counter\n');
    expect(r.body).to.match(/\nperfwatch_cpu_seconds_total\{cpu="0",mode="user"\} /);
    // and the plain format still has the _total family name afterwards (no shared state)
    const plain = await scrape(`${base}/metrics`);
    expect(plain.body).to.include('# TYPE perfwatch_cpu_seconds_total counter\n');
  });

  it('gzips when the client accepts it', async () => {
    const r = await rawGet(`${base}/metrics`, { 'accept-encoding': 'gzip' });
    expect(r.headers['content-encoding']).to.equal('gzip');
    expect(gunzipSync(r.body).toString()).to.include('perfwatch_cpu_seconds_total');
    const plain = await rawGet(`${base}/metrics`, { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).to.equal(undefined);
    expect(plain.body.toString()).to.include('perfwatch_cpu_seconds_total');
  });

  it('never serves a snapshot older than one interval', async () => {
    const first = parseExposition((await scrape(`${base}/metrics`)).body).get('perfwatch_system_uptime_seconds')!;
    await new Promise((r) => setTimeout(r, 2200));
    const second = parseExposition((await scrape(`${base}/metrics`)).body).get('perfwatch_system_uptime_seconds')!;
    // the interval is 1 s: 2.2 s later the uptime must have moved by at least one second
    expect(second - first).to.be.greaterThan(1);
  });

  it('answers /health, and 404/405 as JSON errors', async () => {
    const h = await scrape(`${base}/health`);
    expect(h.status).to.equal(200);
    expect(JSON.parse(h.body).status).to.equal('ok');
    const nf = await scrape(`${base}/nope`);
    expect(nf.status).to.equal(404);
    expect(JSON.parse(nf.body)).to.deep.equal({ error: { code: 'NOT_FOUND', message: 'no route /nope; try /metrics or /health' } });
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).to.equal(405);
    expect(((await post.json()) as { error: { code: string } }).error.code).to.equal('METHOD_NOT_ALLOWED');
  });
});
