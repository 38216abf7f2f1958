/**
 * <pw-status-screen>: what the api can tell today: that it answers (/health), that its database
 * is ready and at which schema version (/ready), its version (/metrics build info), who you are
 * (/api/v1/me) and the retention in force with its last run. Hosts, collector health, perf
 * availability, database size and the live chart need the metrics API (part 2): their region says
 * so and shows no made-up data. Refreshes every 15 s while shown.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { isAbort, messageOf } from '../data/http.js';
import { getRetention, listRuns, TIER_LABELS } from '../data/retention.js';
import { buildInfo, health, ready, type BuildInfo, type Probe } from '../data/system.js';
import type { Me, RetentionRun, TierPolicy } from '../data/types.js';
import { ariaBusy, busyLabel } from '../forms.js';
import { days, timeAgo } from '../format.js';
import { theme } from '../theme.js';
import './pw-alert.js';

const REFRESH_MS = 15_000;

@customElement('pw-status-screen')
export class PwStatusScreen extends LitElement {
  static override styles = [
    theme,
    css`
      .grid {
        display: grid;
        gap: 1rem;
        grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr));
      }
      .stat h2 {
        font-size: 0.8rem;
        text-transform: uppercase;
        letter-spacing: 0.05em;
        color: var(--pw-muted);
        margin-bottom: 0.6rem;
      }
      .big {
        display: flex;
        align-items: center;
        gap: 0.55rem;
        font-size: 1.2rem;
        font-weight: 650;
        margin-bottom: 0.35rem;
      }
      .big .dot {
        width: 0.7rem;
        height: 0.7rem;
      }
      .good {
        color: var(--pw-ok);
      }
      .bad {
        color: var(--pw-danger);
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 0.3rem 1rem;
        margin: 0;
        font-size: 0.92rem;
      }
      dt {
        color: var(--pw-muted);
      }
      dd {
        margin: 0;
        text-align: right;
        overflow-wrap: anywhere;
      }
      .wide {
        grid-column: 1 / -1;
      }
      .wide .head {
        display: flex;
        justify-content: space-between;
        align-items: baseline;
        gap: 1rem;
      }
      .wide .head a {
        font-size: 0.88rem;
        font-weight: 600;
      }
      dl.row {
        grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));
        gap: 0.75rem 1.5rem;
      }
      dl.row dd {
        text-align: left;
        font-size: 1.1rem;
        font-weight: 650;
        margin-top: 0.1rem;
      }
      .refresh {
        display: flex;
        align-items: center;
        gap: 0.75rem;
        font-size: 0.88rem;
      }
      .soon {
        border: 2px dashed var(--pw-input-border);
        border-radius: var(--pw-radius);
        padding: 1.35rem 1.5rem;
        background: repeating-linear-gradient(135deg, transparent 0 14px, rgb(47 91 211 / 3%) 14px 28px);
      }
      .soon-head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.75rem;
        margin-bottom: 0.6rem;
      }
      .soon h2 {
        margin: 0;
      }
      .soon ul {
        margin: 0.25rem 0 0;
        padding-left: 1.2rem;
        color: var(--pw-muted);
        columns: 2 16rem;
        column-gap: 2rem;
      }
      .soon li {
        margin-bottom: 0.2rem;
      }
    `,
  ];

  @property({ attribute: false }) me?: Me;

  @state() private health?: Probe;
  @state() private ready?: Probe;
  @state() private build?: BuildInfo;
  @state() private buildError = '';
  @state() private tiers?: TierPolicy[];
  @state() private lastRun?: RetentionRun | null;
  @state() private retentionError = '';
  @state() private loading = false;
  @state() private checkedAt?: string;

  private abort?: AbortController;
  private timer?: number;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
    this.timer = window.setInterval(() => void this.load(), REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearInterval(this.timer);
    this.abort?.abort();
  }

  private async load(): Promise<void> {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    const signal = abort.signal;
    this.loading = true;
    const settle = async <T>(p: Promise<T>, ok: (v: T) => void, fail: (msg: string) => void) => {
      try {
        ok(await p);
      } catch (err) {
        if (!isAbort(err)) fail(messageOf(err));
      }
    };
    await Promise.all([
      settle(health(signal), (v) => (this.health = v), () => {}),
      settle(ready(signal), (v) => (this.ready = v), () => {}),
      settle(buildInfo(signal), (v) => ((this.build = v), (this.buildError = '')), (m) => (this.buildError = m)),
      settle(
        Promise.all([getRetention(signal), listRuns({ limit: 1 }, signal)]),
        ([t, r]) => ((this.tiers = t), (this.lastRun = r.runs[0] ?? null), (this.retentionError = '')),
        (m) => (this.retentionError = m),
      ),
    ]);
    if (signal.aborted) return;
    this.loading = false;
    this.checkedAt = new Date().toISOString();
  }

  private probeCard(title: string, p: Probe | undefined, good: string, bad: string, extra: unknown) {
    return html`<section class="card stat" aria-labelledby=${`h-${title}`}>
      <h2 id=${`h-${title}`}>${title}</h2>
      ${p === undefined
        ? html`<p class="muted">Checking…</p>`
        : html`<p class="big ${p.ok ? 'good' : 'bad'}"><span class="dot" aria-hidden="true"></span>${p.ok ? good : bad}</p>
            ${p.ok ? extra : html`<p class="muted">${p.message}${p.code && p.code !== 'NETWORK' ? html` (<code>${p.code}</code>)` : nothing}</p>`}`}
    </section>`;
  }

  private lastRunText() {
    const r = this.lastRun;
    if (r === undefined) return '…';
    if (r === null) return html`<span class="muted">none yet</span>`;
    return html`${timeAgo(r.startedAt)} · ${r.error ? html`<span class="bad">failed</span>` : r.finishedAt ? 'ok' : 'running'}`;
  }

  override render() {
    const me = this.me;
    const b = this.build;
    return html`<div class="screen">
      <div class="screen-head">
        <div>
          <h1 tabindex="-1">Status</h1>
          <p class="lead">The PerfWatch api and its database, as this console sees them.</p>
        </div>
        <div class="refresh">
          <span class="muted" aria-live="polite">${this.checkedAt ? html`Checked ${timeAgo(this.checkedAt)}` : 'Checking…'}</span>
          <button type="button" class="small" @click=${() => void this.load()} aria-disabled=${ariaBusy(this.loading)}>${busyLabel(this.loading, 'Refresh', 'Refreshing…')}</button>
        </div>
      </div>

      <div class="grid">
        ${this.probeCard('API', this.health, 'Answering', 'Not answering', html`<p class="muted">/health answered in ${Math.round(this.health?.ms ?? 0)} ms</p>`)}
        ${this.probeCard('Database', this.ready, 'Ready', 'Not ready', html`<p class="muted">Schema version ${this.ready?.schemaVersion}</p>`)}
        <section class="card stat" aria-labelledby="h-version">
          <h2 id="h-version">Version</h2>
          ${this.buildError
            ? html`<p class="muted">${this.buildError}</p>`
            : html`<p class="big">${b?.version ?? '…'}</p>
                <dl>
                  <dt>Revision</dt>
                  <dd><code>${b?.revision || 'unknown'}</code></dd>
                  <dt>Node.js</dt>
                  <dd>${b?.nodejs ?? '…'}</dd>
                </dl>`}
        </section>
        <section class="card stat" aria-labelledby="h-session">
          <h2 id="h-session">Signed in as</h2>
          <p class="big">${me?.username}</p>
          <dl>
            <dt>Role</dt>
            <dd>${me?.role === 'admin' ? html`<span class="badge accent">administrator</span>` : html`<span class="badge">viewer</span>`}</dd>
            <dt>With</dt>
            <dd>${me?.authenticatedWith === 'api_token' ? 'an API token' : 'a login session'}</dd>
          </dl>
        </section>
        <section class="card stat wide" aria-labelledby="h-retention">
          <div class="head">
            <h2 id="h-retention">Retention</h2>
            ${me?.role === 'admin' ? html`<a href="#/retention">Change retention</a>` : nothing}
          </div>
          ${this.retentionError
            ? html`<pw-alert .message=${this.retentionError}></pw-alert>`
            : html`<dl class="row">
                ${(this.tiers ?? []).map((t) => html`<div><dt>${TIER_LABELS[t.tier].name}</dt><dd>${days(t.days)}</dd></div>`)}
                <div><dt>Last run</dt><dd>${this.lastRunText()}</dd></div>
              </dl>`}
        </section>
      </div>

      <section class="soon" aria-labelledby="h-soon" data-placeholder="metrics-api">
        <div class="soon-head">
          <h2 id="h-soon">Hosts and live chart</h2>
          <span class="badge warn">coming with the metrics API</span>
        </div>
        <p class="muted">This part of the status needs the metrics routes of the api, which are not there yet. It will show:</p>
        <ul>
          <li>hosts reporting, with the age of their last snapshot</li>
          <li>health of each collector</li>
          <li>perf events available or not, and why</li>
          <li>database size per storage tier</li>
          <li>exporter and database versions</li>
          <li>a live chart of CPU utilisation and IPC</li>
        </ul>
      </section>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-status-screen': PwStatusScreen;
  }
}
