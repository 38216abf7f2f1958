/**
 * Annotations for Grafana: retention runs (retention_runs) and gaps in a host's history
 * (store/src/gaps.ts), as regions with a title, a text and tags.
 */
import { snapshotGaps, type HostGap, type Pool } from '@perfwatch/store';
import { rows } from '../db/sql.js';
import { iso } from './params.js';

export type AnnotationKind = 'retention' | 'gap';
export const ANNOTATION_KINDS: readonly AnnotationKind[] = ['retention', 'gap'];

export interface Annotation {
  kind: AnnotationKind;
  /** Unix ms. */
  time: number;
  timeEnd: number;
  host?: string;
  title: string;
  text: string;
  tags: string[];
}

/** Most annotations of one kind (and, for gaps, per host) in one answer. */
export const MAX_ANNOTATIONS = 1000;

/** "1 h 5 min", "42 s". */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** Retention runs that started before `to` and were still going (or finished) at `from` or later. */
export async function retentionAnnotations(pool: Pool, from: number, to: number): Promise<Annotation[]> {
  const r = await rows<{ tier: string; started: number; finished: number | null; dropped: string[]; error: string | null }>(
    pool,
    'reading retention runs',
    `SELECT tier, (extract(epoch FROM started_at) * 1000)::float8 AS started, (extract(epoch FROM finished_at) * 1000)::float8 AS finished,
            dropped_partitions AS dropped, error
       FROM retention_runs
      WHERE started_at < 'epoch'::timestamptz + $2::float8 * interval '1 millisecond'
        AND coalesce(finished_at, started_at) >= 'epoch'::timestamptz + $1::float8 * interval '1 millisecond'
      ORDER BY started_at, id LIMIT $3`,
    [from, to, MAX_ANNOTATIONS],
  );
  return r.map((x) => {
    const what = x.error
      ? `failed: ${x.error}`
      : x.dropped.length
        ? `dropped ${x.dropped.length} partition${x.dropped.length > 1 ? 's' : ''}: ${x.dropped.join(', ')}`
        : 'nothing had expired';
    return {
      kind: 'retention' as const,
      time: x.started,
      timeEnd: x.finished ?? x.started,
      title: `Retention run (${x.tier})`,
      text: `Retention of the ${x.tier} tier ${x.finished === null ? 'started (not finished)' : what}`,
      tags: ['retention', x.tier, ...(x.error ? ['failed'] : [])],
    };
  });
}

function gapAnnotation(g: HostGap): Annotation {
  const every = g.intervalMs === null ? '' : `; it usually reports every ${duration(g.intervalMs)}`;
  return {
    kind: 'gap',
    time: g.from,
    timeEnd: g.to,
    host: g.host,
    title: `No data from ${g.host}`,
    text: g.open
      ? `No snapshot from ${g.host} since ${iso(g.from)} (${duration(g.to - g.from)} so far${every}): the exporter, its collection or its database writes are down`
      : `No snapshot from ${g.host} for ${duration(g.to - g.from)}, ${iso(g.from)} to ${iso(g.to)}${every}: the exporter, its collection or its database writes were down`,
    tags: ['gap', g.host, ...(g.open ? ['open'] : [])],
  };
}

export async function gapAnnotations(pool: Pool, q: { hosts: readonly string[] | 'all'; from: number; to: number; minGapMs?: number }): Promise<Annotation[]> {
  const gaps = await snapshotGaps(pool, { ...q, limitPerHost: MAX_ANNOTATIONS });
  return gaps.map(gapAnnotation);
}
