/**
 * What the corrupted-root tests share (collector-corrupt-{proc,sys,cgroup}.test.ts, issue #20):
 * the six ways a kernel file is broken, the collectors' success from a scrape, and the check of
 * one file broken one way against a running exporter.
 */
import { expect } from 'chai';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Exporter } from '../src/app.js';
import { parseExposition, scrape } from './helpers.js';
import { randomBytes } from './procfs/table.js';

export type CorruptionName = 'empty' | 'random bytes' | 'NaN text' | 'a 1 MB line' | 'last line cut short' | 'a directory';

export interface Corruption {
  name: CorruptionName;
  apply(path: string, good: string): void;
}

/** The file emptied, random bytes (from `seed`), `NaN` text, a 1 MB line, cut short, a directory. */
export function corruptions(seed: number): Corruption[] {
  return [
    { name: 'empty', apply: (p) => writeFileSync(p, '') },
    { name: 'random bytes', apply: (p) => writeFileSync(p, randomBytes(4096, seed)) },
    { name: 'NaN text', apply: (p) => writeFileSync(p, 'NaN\n') },
    { name: 'a 1 MB line', apply: (p, good) => writeFileSync(p, `${'7'.repeat(1 << 20)}\n${good}`) },
    { name: 'last line cut short', apply: (p, good) => writeFileSync(p, good.slice(0, -3)) },
    {
      name: 'a directory',
      apply: (p) => {
        rmSync(p);
        mkdirSync(p);
      },
    },
  ];
}

/** collector -> perfwatch_scrape_collector_success of a /metrics body. */
export function successes(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of parseExposition(body)) {
    const m = /^perfwatch_scrape_collector_success\{collector="([^"]+)"\}$/.exec(k);
    if (m) out.set(m[1]!, v);
  }
  return out;
}

/** Runs `check` with the file at `path` broken one way, and puts the file back whatever happens. */
export async function withCorrupted(path: string, corruption: Corruption, check: () => Promise<void>): Promise<void> {
  const good = readFileSync(path, 'utf8');
  try {
    corruption.apply(path, good);
    await check();
  } finally {
    rmSync(path, { recursive: true, force: true });
    writeFileSync(path, good);
  }
}

/**
 * The file at `path` broken one way, then a scrape: 200; every collector but `collector` as in
 * `healthy`; `collector` 1 when `legit` (what the kernel may write), else 0 with its reason naming
 * the file (and, for content, the line: `<path>:<n>: ...`).
 */
export async function expectOnlyCollectorFails(exporter: Exporter, healthy: Map<string, number>, path: string, collector: string, corruption: Corruption, legit: boolean): Promise<void> {
  await withCorrupted(path, corruption, async () => {
    const r = await scrape(`${exporter.url}/metrics`);
    expect(r.status).to.equal(200);
    const now = successes(r.body);
    const col = exporter.sampler.last!.col[collector]!;
    for (const [c, v] of healthy) {
      if (c === collector) continue;
      expect(now.get(c), `collector ${c}`).to.equal(v);
    }
    if (legit) {
      expect(now.get(collector)).to.equal(1);
      expect(col.ok).to.equal(true);
      return;
    }
    expect(now.get(collector), `perfwatch_scrape_collector_success{collector="${collector}"}`).to.equal(0);
    expect(col.ok).to.equal(false);
    if (corruption.name === 'a directory') expect(col.err).to.equal(`${path}: a directory, not the kernel file`);
    else expect(col.err).to.match(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `));
  });
}
