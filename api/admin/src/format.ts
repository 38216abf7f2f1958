/** Times and sizes as people read them; `<time>` elements carry the exact value. */
import { html, type TemplateResult } from 'lit';

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
