import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { loadConfig, type ExporterConfig } from '../src/config.js';
import { createLogger, type Logger } from '../src/log.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function quietLogger(): Logger {
  return createLogger('silent');
}

/** A config over a fixture tree (or the real machine when name is undefined), port 0, no background loop. */
export function testConfig(env: Record<string, string> = {}, fixture?: string): ExporterConfig {
  const roots = fixture
    ? { PERFWATCH_PROC_ROOT: `${FIXTURES}${fixture}/proc`, PERFWATCH_SYS_ROOT: `${FIXTURES}${fixture}/sys`, PERFWATCH_ROOTFS: `${FIXTURES}${fixture}/rootfs` }
    : {};
  return loadConfig({ PERFWATCH_EXPORTER_PORT: '0', PERFWATCH_EXPORTER_HOST: '127.0.0.1', PERFWATCH_HOSTNAME: 'test-host', BACKGROUND_COLLECTION_ENABLED: 'false', ...roots, ...env });
}

export async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await fetch(url, { headers });
  const raw = Buffer.from(await r.arrayBuffer());
  // fetch decompresses gzip itself; keep the raw path for callers that ask for identity.
  return { status: r.status, headers: r.headers, body: raw.toString('utf8') };
}

export { gunzipSync };

/** Runs promtool check metrics on an exposition; undefined when promtool is not installed. */
export function promtoolCheck(text: string): { status: number; output: string } | undefined {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Parses text exposition 0.0.4 into series -> value (comments dropped). */
export function parseExposition(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/**
 * Compares `actual` with the golden file at `path` (UPDATE_GOLDEN=1, or a missing file, writes it;
 * a missing one also fails, so that a new golden is looked at before it is committed).
 */
export function golden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    writeFileSync(path, actual);
    if (process.env.UPDATE_GOLDEN !== '1') throw new Error(`${path} did not exist; written now: check it and commit it`);
  }
  const want = readFileSync(path, 'utf8');
  if (want !== actual) {
    const a = actual.split('\n');
    const w = want.split('\n');
    const i = a.findIndex((l, n) => l !== w[n]);
    expect.fail(`${path} differs first at line ${i + 1}:\n  want: ${w[i]}\n  got:  ${a[i]}\n(UPDATE_GOLDEN=1 npm test -- exporter rewrites it)`);
  }
}

/** A fresh temporary tree holding these files (relative path -> text): a small fake /sys or /proc. */
export function fileTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'perfwatch-tree-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}
