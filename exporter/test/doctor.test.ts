/**
 * `npm run doctor` as a person runs it: its own process, this machine's real perf_event_open,
 * /proc and /sys. It reports (exit 0) whatever the events' state and exits 2 only on a
 * configuration error, naming the variable.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { formatCpuList, hardwarePmus, nativeStatus, onlineCpus, perfEventParanoid } from '@perfwatch/native';
import { DEFAULTS } from '../src/config.js';

const DOCTOR = fileURLToPath(new URL('../src/doctor.ts', import.meta.url));

function runDoctor(env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', DOCTOR], {
      env: { ...process.env, DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The value column of a "  label    value" line of the report. */
function field(out: string, label: string): string {
  const line = out.split('\n').find((l) => l.startsWith(`  ${label.padEnd(22)}`));
  expect(line, `a "${label}" line in:\n${out}`).to.be.a('string');
  return line!.slice(24);
}

describe('doctor', function () {
  this.timeout(30_000);
  let report: { status: number | null; stdout: string; stderr: string };

  before(async () => {
    report = await runDoctor();
  });

  it('exits 0 and lists every configured event with its state (the report is not a verdict)', () => {
    expect(report.status, report.stderr).to.equal(0);
    for (const e of DEFAULTS.perfEvents) expect(report.stdout).to.match(new RegExp(`^  ${e} +(available|unavailable) `, 'm'));
    if (nativeStatus().available && process.getuid?.() === 0) {
      expect(report.stdout).to.match(new RegExp(`^  task-clock +available +counted on CPUs ${formatCpuList(onlineCpus())}$`, 'm'));
    }
    if (hardwarePmus().length === 0) {
      expect(report.stdout).to.match(/^ {2}cpu-cycles +unavailable +not supported$/m);
      expect(report.stdout).to.contain('fix: hardware events need a PMU');
      expect(report.stdout).to.match(/^ +same cause and fix as cpu-cycles$/m);
    }
    expect(report.stdout).to.match(/^summary: \d+ of 11 events available system-wide/m);
  });

  it('prints perf_event_paranoid, capabilities, the fd limit and the fds needed, CPUs, PMUs, the addon and the database', () => {
    const out = report.stdout;
    expect(field(out, 'perf_event_paranoid')).to.match(new RegExp(`^${perfEventParanoid()}: `));
    expect(field(out, 'capabilities')).to.match(/^CapEff [0-9a-f]{16}: .*; system-wide counting (allowed|refused)/);
    expect(field(out, 'fd limit')).to.match(/^RLIMIT_NOFILE soft (\d+|unlimited), hard (\d+|unlimited); \d+ fds open besides perf$/);
    const cpus = onlineCpus();
    expect(field(out, 'fds needed')).to.match(new RegExp(`^${11 * cpus.length} = 11 events x ${cpus.length} CPUs x 1 target; budget 4096 \\(PERFWATCH_PERF_FD_BUDGET\\): ok`));
    expect(field(out, 'online CPUs')).to.match(new RegExp(`^${formatCpuList(cpus)} \\(${cpus.length}, `));
    expect(field(out, 'hardware PMU')).to.be.a('string');
    expect(field(out, 'native addon')).to.match(nativeStatus().available ? /^built \(/ : /^NOT built: native addon not built/);
    expect(field(out, 'database')).to.equal('not configured (DATABASE_URL unset)');
  });

  it('reports the fd budget reason when the budget is too small', async () => {
    const r = await runDoctor({ PERFWATCH_PERF_EVENTS: 'task-clock', PERFWATCH_PERF_FD_BUDGET: '1' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^ {2}task-clock +unavailable +fd budget$/m);
    expect(field(r.stdout, 'fds needed')).to.contain('fd budget: perf counters need');
  });

  describe('database', () => {
    let server: Server;
    let port = 0;
    before(async () => {
      server = createServer((s) => s.destroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('says reachable when something listens at DATABASE_URL host:port (no password printed)', async () => {
      const r = await runDoctor({ PERFWATCH_PERF_EVENTS: 'task-clock', DATABASE_URL: `postgres://pw:secret@127.0.0.1:${port}/perfwatch` });
      expect(r.status, r.stderr).to.equal(0);
      expect(field(r.stdout, 'database')).to.match(new RegExp(`^reachable \\(127\\.0\\.0\\.1:${port}, connected in \\d+ ms\\)$`));
      expect(r.stdout).to.not.contain('secret');
    });

    it('says not reachable, with the error, when nothing listens', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
      const freePort = (closed.address() as { port: number }).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const r = await runDoctor({ PERFWATCH_PERF_EVENTS: 'task-clock', DATABASE_URL: `postgresql://127.0.0.1:${freePort}/x` });
      expect(r.status, r.stderr).to.equal(0);
      expect(field(r.stdout, 'database')).to.equal(`NOT reachable (127.0.0.1:${freePort}: ECONNREFUSED)`);
    });
  });

  it('exits 2 naming PERFWATCH_PERF_EVENTS, and the known events, for an unknown event', async () => {
    const r = await runDoctor({ PERFWATCH_PERF_EVENTS: 'task-clock,cycels' });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/^perfwatch doctor: configuration error: PERFWATCH_PERF_EVENTS: unknown event "cycels"; known: cpu-cycles, instructions, /);
    expect(r.stdout).to.equal('');
  });

  it('exits 2 on any other bad configuration value, naming the variable', async () => {
    const r = await runDoctor({ PERFWATCH_PERF_FD_BUDGET: 'lots' });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('PERFWATCH_PERF_FD_BUDGET: "lots" is not a whole number');
  });
});
