/** Keeps docs/metrics.md true: every family served (fixtures and this machine) is documented. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { COLLECTORS } from '../src/collectors/registry.js';
import { MetricsRenderer } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { quietLogger, testConfig } from './helpers.js';

const DOCS = ['../../docs/metrics.md', '../../docs/perf.md']
  .map((p) => {
    try {
      return readFileSync(new URL(p, import.meta.url), 'utf8');
    } catch {
      return '';
    }
  })
  .join('\n');

/** Literal names in backticks, and `<...>` patterns turned into regexes. */
function documented(): { names: Set<string>; patterns: RegExp[] } {
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  for (const m of DOCS.matchAll(/`((?:perfwatch|process|nodejs)_[a-z0-9_<>*]+)`/g)) {
    const n = m[1]!;
    if (/[<*]/.test(n)) patterns.push(new RegExp(`^${n.replace(/<[^>]+>/g, '[a-z0-9_]+').replace(/\*/g, '.*')}$`));
    else names.add(n);
  }
  return { names, patterns };
}

describe('docs/metrics.md', () => {
  for (const fixture of ['small', 'large', undefined]) {
    it(`documents every family served for ${fixture ?? 'this machine'}`, async () => {
      const pipeline = new SnapshotPipeline(testConfig({}, fixture), COLLECTORS.filter((c) => c.defaultEnabled), quietLogger());
      const { body } = await new MetricsRenderer({ version: 't', revision: '' }).render(await pipeline.collect(), false);
      await pipeline.close();
      const families = [...body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
      const { names, patterns } = documented();
      const missing = families.filter((f) => !names.has(f) && !patterns.some((p) => p.test(f)) && !/^(process|nodejs)_/.test(f));
      expect(missing, 'add these to docs/metrics.md').to.deep.equal([]);
    });
  }
});
