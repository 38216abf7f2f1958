/**
 * Label values of a metric (host included, derived metrics through their parts) over rolled-up
 * series and each host's newest shape, and the JSON API's matchers compiled: bad regexes and bad
 * matchers refused, SQL in every string parameter treated as a plain value.
 * (Series values: api/test/metrics-routes.test.ts and the PromQL tests, one evaluator for both.)
 */
import { expect } from 'chai';
import { compileMatchers, insertSnapshots, labelValues, runRollups, StoreError, type Matcher } from '../src/index.js';
import { testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2031, 8, 1, 0, 0, 0);
const NOW = T0 + 2 * DAY + 3 * 3_600_000;

describe('label values and matchers', function () {
  this.timeout(120_000);
  let t: TestSchema;

  before(async () => {
    t = await testSchema({ migrate: true });
    // Two hosts, 2 days + 2 hours at 60 s.
    const s1 = simulate(fixtureSnapshot('small', { compact: true }), 's1', T0, 50 * 60, { intervalMs: MIN, seed: 1 });
    const s2 = simulate(fixtureSnapshot('small', { compact: true }), 's2', T0, 50 * 60, { intervalMs: MIN, seed: 2 });
    for (let i = 0; i < s1.length; i += 500) await insertSnapshots(t.pool, [...s1.slice(i, i + 500), ...s2.slice(i, i + 500)]);
    while ((await runRollups(t.pool, { tier: '1m', now: NOW })).behind);
    await runRollups(t.pool, { tier: '1h', now: NOW });
  });
  after(async () => {
    await t.drop();
  });

  it('labelValues: values of a label of a metric, host included, for some hosts or all', async () => {
    expect(await labelValues(t.pool, 'perfwatch_cpu_seconds_total', 'mode')).to.deep.equal(['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user']);
    expect(await labelValues(t.pool, 'perfwatch_filesystem_size_bytes', 'mountpoint', ['s1'])).to.deep.equal(['/', '/run', '/run/lock', '/run/user/1000']);
    expect(await labelValues(t.pool, 'perfwatch_cpu_seconds_total', 'host', ['s2', 'nobody'])).to.deep.equal(['s2']);
    expect(await labelValues(t.pool, 'perfwatch_perf_instructions_per_cycle', 'cpu')).to.deep.equal([]);
    expect(await labelValues(t.pool, 'perfwatch_cpu_utilisation_ratio', 'cpu')).to.deep.equal(['0', '1']);
  });

  it('compileMatchers: a regex that does not compile is INVALID_REGEX (RE2: no lookaround), other bad matchers INVALID_ARGUMENT', () => {
    const err = (m: unknown) => {
      try {
        compileMatchers(m as Matcher[]);
      } catch (e) {
        expect(e).to.be.instanceOf(StoreError);
        return e as StoreError;
      }
      throw new Error(`${JSON.stringify(m)} was accepted`);
    };
    const re = err([{ label: 'mode', op: '=~', value: '(unclosed' }]);
    expect(re.code).to.equal('INVALID_REGEX');
    expect(re.message).to.match(/\(unclosed/);
    expect(err([{ label: 'mode', op: '=~', value: '(?=user)u.*' }]).code).to.equal('INVALID_REGEX');
    expect(err([{ label: 'mode', op: '~', value: 'x' }]).code).to.equal('INVALID_ARGUMENT');
    expect(err([{ label: '1mode', op: '=', value: 'x' }]).code).to.equal('INVALID_ARGUMENT');
    expect(err([{ label: 'mode', op: '=', value: 'x'.repeat(4097) }]).code).to.equal('INVALID_ARGUMENT');
    expect(err(Array.from({ length: 65 }, () => ({ label: 'mode', op: '=', value: 'x' }))).code).to.equal('INVALID_ARGUMENT');
    // Anchored at both ends, as in PromQL.
    const [m] = compileMatchers([{ label: 'mode', op: '=~', value: 'us|sys.*' }]);
    expect(['us', 'user', 'system', 'xsys'].map((v) => m!.test(v))).to.deep.equal([true, false, true, false]);
  });

  it('SQL in every string parameter is a plain value: refused or matching nothing, never run', async () => {
    const evil = [`'; DROP TABLE hosts; --`, `x" OR 1=1 --`, `$1`, `\\'`, `1); DELETE FROM snapshots; --`, `rollups_1m`, `v1 FROM rollups_1m; --`];
    const tables = async () => (await t.pool.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = current_schema()::regnamespace`)).rows[0].n as number;
    const rows = async () => (await t.pool.query(`SELECT (SELECT count(*) FROM snapshots)::int AS s, (SELECT count(*) FROM hosts)::int AS h, (SELECT count(*) FROM rollups_1m)::int AS r`)).rows[0];
    const before = [await tables(), await rows()];
    for (const e of evil) {
      const outcomes = await Promise.all([
        labelValues(t.pool, e, 'mode').catch((x: StoreError) => x.code),
        labelValues(t.pool, 'perfwatch_cpu_seconds_total', e).catch((x: StoreError) => x.code),
        labelValues(t.pool, 'perfwatch_cpu_seconds_total', 'mode', [e]),
      ]);
      for (const o of outcomes) {
        if (typeof o === 'string') expect(o).to.be.oneOf(['INVALID_ARGUMENT', 'UNKNOWN_METRIC']);
      }
      expect(outcomes[0], e).to.be.oneOf(['INVALID_ARGUMENT', 'UNKNOWN_METRIC']);
      expect(outcomes[2], e).to.deep.equal([]);
    }
    expect([await tables(), await rows()]).to.deep.equal(before);
  });
});
