/**
 * selfmetrics.ts stands in for prom-client's collectDefaultMetrics: the same families (names,
 * help, types, label names) as prom-client serves on this Node.js, with values that are this
 * process's.
 */
import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { SelfMetrics } from '../src/selfmetrics.js';
import { parseExposition, promtoolCheck } from './helpers.js';

// the same families the exporter used to keep (promtool rejects gauges named *_total)
const DROPPED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** family name -> "type|help|label names" from an exposition's HELP/TYPE lines and samples. */
function shape(text: string): Map<string, string> {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) help.set(m[1]!, m[2]!);
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) type.set(m[1]!, m[2]!);
    m = /^([a-z_]+?)(?:_bucket|_sum|_count)?(?:\{(.*)\})? /.exec(line);
    if (m && !line.startsWith('#')) {
      const family = [...type.keys()].reverse().find((f) => line.startsWith(f))!;
      const set = labels.get(family) ?? new Set();
      for (const kv of (m[2] ?? '').split(/,(?=[a-z_]+=)/)) if (kv) set.add(kv.split('=')[0]!);
      labels.set(family, set);
    }
  }
  return new Map([...type].map(([name, t]) => [name, `${t}|${help.get(name)}|${[...(labels.get(name) ?? [])].sort().join(',')}`]));
}

describe('self metrics (process and Node.js runtime)', () => {
  let self: SelfMetrics;
  before(() => {
    self = new SelfMetrics();
    // a GC of each kind the histogram can label, so both sides print samples
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  });
  after(() => self.close());

  it("serves prom-client's default families with the same help, type and labels", async function () {
    const reg = new Registry();
    collectDefaultMetrics({ register: reg });
    for (const name of DROPPED) reg.removeSingleMetric(name);
    // let both observers see a GC
    (runInNewContext('gc') as () => void)();
    await new Promise((r) => setTimeout(r, 50));
    const theirs = shape(await reg.metrics());
    const ours = shape(self.render(false));
    reg.clear();
    expect(ours.size).to.be.greaterThan(20);
    // label sets depend on what is running (handle types): compare those families by name only
    for (const name of ['nodejs_active_resources', 'nodejs_active_handles', 'nodejs_active_requests', 'nodejs_gc_duration_seconds']) {
      expect(ours.get(name)?.split('|').slice(0, 2), name).to.deep.equal(theirs.get(name)?.split('|').slice(0, 2));
      ours.delete(name);
      theirs.delete(name);
    }
    expect(ours).to.deep.equal(theirs);
  });

  it('reads this process: CPU, memory, fds, heap, version, GC', async () => {
    (runInNewContext('gc') as () => void)();
    await new Promise((r) => setTimeout(r, 20));
    const m = parseExposition(self.render(false));
    const user = m.get('process_cpu_user_seconds_total')!;
    const system = m.get('process_cpu_system_seconds_total')!;
    expect(user).to.be.greaterThan(0);
    expect(m.get('process_cpu_seconds_total')).to.be.closeTo(user + system, 1e-9);
    expect(m.get('process_resident_memory_bytes')).to.be.greaterThan(1e6);
    expect(m.get('process_open_fds')).to.be.greaterThan(2);
    expect(m.get('process_max_fds')).to.be.greaterThan(0);
    expect(m.get('process_start_time_seconds')).to.be.closeTo(Date.now() / 1000 - process.uptime(), 2);
    expect(m.get('nodejs_heap_size_used_bytes')).to.be.greaterThan(0);
    expect(m.get('nodejs_heap_space_size_used_bytes{space="old"}')).to.be.greaterThan(0);
    expect(m.get(`nodejs_version_info{version="${process.version}",major="${process.versions.node.split('.')[0]}",minor="${process.versions.node.split('.')[1]}",patch="${process.versions.node.split('.')[2]}"}`)).to.equal(1);
    const majors = m.get('nodejs_gc_duration_seconds_count{kind="major"}')!;
    expect(majors).to.be.at.least(1);
    expect(m.get('nodejs_gc_duration_seconds_bucket{le="+Inf",kind="major"}')).to.equal(majors);
    expect(m.get('nodejs_gc_duration_seconds_bucket{le="5",kind="major"}')).to.be.at.most(majors);
  });

  it('prints OpenMetrics counter families without _total, and passes promtool', () => {
    const om = self.render(true);
    expect(om).to.include('# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total ');
    expect(om).to.not.include('\n\n');
    const check = promtoolCheck(`${self.render(false)}\n`);
    if (check) expect(check.output, check.output).to.equal('');
  });
});
