/** Times, sizes and roles as people read them; `<time>` elements carry the exact value. */
import { html, type TemplateResult } from 'lit';
import type { Role } from './data/types.js';

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400],
  ['month', 30 * 86_400],
  ['week', 7 * 86_400],
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
];

/** "3 minutes ago", "in 2 days", "just now". */
export function ago(iso: string, now = Date.now()): string {
  const s = (Date.parse(iso) - now) / 1000;
  if (Math.abs(s) < 45) return 'just now';
  for (const [unit, size] of UNITS) if (Math.abs(s) >= size) return relative.format(Math.round(s / size), unit);
  return relative.format(Math.round(s / 60), 'minute');
}

export function when(iso: string): string {
  return absolute.format(new Date(iso));
}

export function day(iso: string): string {
  return dateOnly.format(new Date(iso));
}

/** A relative time with the exact one on hover and for assistive technology. */
export function timeAgo(iso: string | null | undefined, never = 'never'): TemplateResult {
  if (!iso) return html`<span class="muted">${never}</span>`;
  return html`<time datetime=${iso} title=${when(iso)}>${ago(iso)}</time>`;
}

export function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function days(n: number): string {
  return n === 1 ? '1 day' : `${n.toLocaleString()} days`;
}

/** 1,234 rows; "about 1.2 million" style is not needed at these sizes. */
export function count(n: number): string {
  return n.toLocaleString();
}

/** Bytes in binary units: "812 KB", "3.4 MB", "1.20 GB". */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** An age in seconds, short: "4 s", "12 min", "3 h", "2 days". */
export function age(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return days(Math.round(s / 86_400));
}

/** A role as a badge: administrators stand out. */
export function roleBadge(role: Role | undefined): TemplateResult {
  return role === 'admin' ? html`<span class="badge accent">administrator</span>` : html`<span class="badge">viewer</span>`;
}
