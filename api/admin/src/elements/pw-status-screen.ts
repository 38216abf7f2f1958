/**
 * <pw-status-screen>: the state of the installation. The api answers (/health), its database is
 * ready at a schema version (/ready), versions (/api/v1/status and /metrics build info), and from
 * GET /api/v1/status: every host with the age of its last snapshot (red and "stale" past 3 x its
 * interval), the health of each collector, the perf events counted and why the others are not,
 * the database size, storage per tier and the retention schedule. A live chart of CPU
 * utilisation and IPC for a chosen host (<pw-live-chart>, WebSocket). Refreshes every 15 s while
 * shown.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { settle } from '../data/http.js';
import { TIER_LABELS } from '../data/retention.js';
import { getStatus, ipcUnavailable, type HostStatus, type Status } from '../data/status.js';
import { buildInfo, health, ready, type BuildInfo, type Probe } from '../data/system.js';
import type { Me } from '../data/types.js';
import { ariaBusy, busyLabel } from '../forms.js';
import { age, bytes, count, days, roleBadge, timeAgo, when } from '../format.js';
import { theme } from '../theme.js';
import './pw-alert.js';
import './pw-live-chart.js';

const REFRESH_MS = 15_000;

/** "not supported: cpu-cycles, instructions" — the unavailable events grouped by reason. */
function byReason(unavailable: Record<string, string>): [string, string[]][] {
  const m = new Map<string, string[]>();
  for (const [ev, why] of Object.entries(unavailable)) m.set(why, [...(m.get(why) ?? []), ev]);
  return [...m.entries()].sort((a, b) => b[1].length - a[1].length);
}

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
      .stat h2,
      h2.caps {
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
      .refresh {
        display: flex;
        align-items: center;
        gap: 0.75rem;
        font-size: 0.88rem;
      }
      .host-name {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.4rem 0.6rem;
        font-weight: 650;
        overflow-wrap: anywhere;
      }
      tr.stale .age {
        color: var(--pw-danger);
        font-weight: 650;
      }
      .age {
        font-variant-numeric: tabular-nums;
      }
      td {
        vertical-align: top;
      }
      ul.plain {
        list-style: none;
        margin: 0.4rem 0 0;
        padding: 0;
        font-size: 0.88rem;
      }
      ul.plain li {
        margin: 0.15rem 0;
        overflow-wrap: anywhere;
      }
      .fail-msg {
        color: var(--pw-danger);
      }
      details {
        margin-top: 0.35rem;
        font-size: 0.85rem;
      }
      summary {
        cursor: pointer;
        color: var(--pw-accent);
        font-weight: 600;
        width: fit-content;
      }
      .collectors {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(10.5rem, 1fr));
        gap: 0.2rem 1rem;
        margin: 0.4rem 0 0;
        padding: 0;
        list-style: none;
      }
      .collectors li {
        display: flex;
        justify-content: space-between;
        gap: 0.5rem;
      }
      .collectors .t {
        color: var(--pw-muted);
        font-variant-numeric: tabular-nums;
      }
      .chart-head {
        display: flex;
        flex-wrap: wrap;
        align-items: flex-end;
        justify-content: space-between;
        gap: 0.75rem 1rem;
        margin-bottom: 0.9rem;
      }
      .chart-head h2 {
        margin: 0;
      }
      .chart-head .field {
        flex-direction: row;
        align-items: center;
        gap: 0.6rem;
      }
      .chart-head select {
        min-width: 12rem;
        width: auto;
      }
      .tiers {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
        gap: 1rem 1.5rem;
        margin: 0;
      }
      .tiers dd {
        text-align: left;
        margin-top: 0.15rem;
      }
      .tiers dd .n {
        font-size: 1.1rem;
        font-weight: 650;
        display: block;
      }
      .tiers > div {
        display: flex;
        flex-direction: column;
      }
      .wide-head {
        display: flex;
        justify-content: space-between;
        align-items: baseline;
        gap: 1rem;
      }
      .wide-head a {
        font-size: 0.88rem;
        font-weight: 600;
      }
      .empty-hosts {
        padding: 0 1.35rem 1.25rem;
      }
      .note {
        padding: 0 1.35rem 1rem;
        margin: 0;
      }
      @media (max-width: 760px) {
        /* Collectors and perf events: the label above, the list below, left-aligned. */
        table.cards td.stack {
          flex-direction: column;
          align-items: stretch;
          text-align: left;
          gap: 0.3rem;
          padding-top: 0.5rem;
        }
        .chart-head .field,
        .chart-head select {
          width: 100%;
        }
        .chart-head select {
          min-width: 0;
          flex: 1;
        }
      }
    `,
  ];

  @property({ attribute: false }) me?: Me;

  @state() private health?: Probe;
  @state() private ready?: Probe;
  @state() private build?: BuildInfo;
  @state() private buildError = '';
  @state() private status?: Status;
  @state() private statusError = '';
  @state() private loading = false;
  @state() private checkedAt?: string;
  @state() private chartHost = '';

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
    await Promise.all([
      settle(health(signal), (v) => (this.health = v), () => {}),
      settle(ready(signal), (v) => (this.ready = v), () => {}),
      // The api's build does not change while it runs: its /metrics is read until it answers once, not every refresh.
      this.build ? undefined : settle(buildInfo(signal), (v) => ((this.build = v), (this.buildError = '')), (m) => (this.buildError = m)),
      settle(getStatus(signal), (v) => this.adopt(v), (m) => (this.statusError = m)),
    ]);
    if (signal.aborted) return;
    this.loading = false;
    this.checkedAt = new Date().toISOString();
  }

  private adopt(s: Status): void {
    this.status = s;
    this.statusError = '';
    if (!s.hosts.some((h) => h.name === this.chartHost)) {
      // The first host that reports, else the first there is.
      this.chartHost = (s.hosts.find((h) => !h.stale) ?? s.hosts.find((h) => h.lastSeen) ?? s.hosts[0])?.name ?? '';
    }
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

  private renderCollectors(h: HostStatus) {
    if (h.collectors.length === 0) return html`<span class="muted">no snapshot yet</span>`;
    const failed = h.collectors.filter((c) => !c.ok);
    return html`${failed.length === 0
        ? html`<span class="badge ok">All ${h.collectors.length} OK</span>`
        : html`<span class="badge danger">${failed.length} of ${h.collectors.length} failed</span>
            <ul class="plain">
              ${failed.map((c) => html`<li data-collector=${c.name}><code>${c.name}</code> <span class="fail-msg">failed: ${c.error ?? 'no reason given'}</span></li>`)}
            </ul>`}
      <details>
        <summary>Each collector</summary>
        <ul class="collectors">
          ${h.collectors.map(
            (c) => html`<li>
              <span>${c.ok ? html`<span class="good" aria-label="OK">✓</span>` : html`<span class="bad" aria-label="failed">✗</span>`} <code>${c.name}</code></span>
              <span class="t">${(c.seconds * 1000).toFixed(1)} ms</span>
            </li>`,
          )}
        </ul>
      </details>`;
  }

  private renderPerf(h: HostStatus) {
    if (!h.perf) return html`<span class="muted">${h.collectors.length ? 'perf collector not running' : '—'}</span>`;
    const total = h.perf.events.length;
    const missing = Object.keys(h.perf.unavailable).length;
    const counted = h.perf.events.filter((e) => !h.perf!.unavailable[e]);
    return html`<span class="badge ${missing === 0 ? 'ok' : counted.length === 0 ? 'danger' : 'warn'}">${counted.length} of ${total} counted</span>
      <ul class="plain">
        ${byReason(h.perf.unavailable).map(([why, evs]) => html`<li data-reason=${why}><span class="bad">${why}:</span> ${evs.join(', ')}</li>`)}
        ${counted.length && missing ? html`<li class="muted">counted: ${counted.join(', ')}</li>` : nothing}
      </ul>`;
  }

  private renderContainers(h: HostStatus) {
    const c = h.containers;
    if (!c) return html`<span class="muted">${h.collectors.length ? 'cgroup collector not running' : '—'}</span>`;
    return html`<span class="badge ok">${c.cgroups} cgroups${c.other ? ` + ${c.other} in other` : ''}</span>
      <ul class="plain">
        ${c.top.map(
          (t) => html`<li data-cgroup=${t.cgroup} title=${t.cgroup}><code>${t.name}</code>
            <span class="muted">${t.cpuCores === null ? '' : `${t.cpuCores.toFixed(2)} CPU`}${t.cpuCores !== null && t.memoryBytes !== null ? ' · ' : ''}${t.memoryBytes === null ? '' : bytes(t.memoryBytes)}</span></li>`,
        )}
      </ul>`;
  }

  private renderHosts() {
    const s = this.status;
    if (this.statusError && !s) return html`<div class="empty-hosts"><pw-alert .message=${this.statusError}></pw-alert></div>`;
    if (!s) return html`<p class="empty"><span class="spinner" aria-hidden="true"></span> Loading hosts…</p>`;
    if (s.hosts.length === 0)
      return html`<p class="empty">No host has written history yet. Start the exporter with <code>DATABASE_URL</code> pointing at this database (<code>npm start</code> does).</p>`;
    return html`<div class="table-wrap">
      <table class="cards">
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Last snapshot</th>
            <th scope="col">Collectors</th>
            <th scope="col">Perf events</th>
            <th scope="col">Containers and services</th>
          </tr>
        </thead>
        <tbody>
          ${s.hosts.map(
            (h) => html`<tr data-host=${h.name} class=${h.stale ? 'stale' : 'fresh'}>
              <td class="primary-cell" data-label="Host">
                <span class="host-name">${h.name} ${h.stale ? html`<span class="badge danger">stale</span>` : nothing}</span>
              </td>
              <td data-label="Last snapshot">
                <div>
                ${h.ageSeconds === null
                  ? html`<span class="age muted">never</span>`
                  : html`<span class="age" title=${h.lastSeen ? when(h.lastSeen) : ''}>${age(h.ageSeconds)} ago</span>
                      <p class="hint">
                        ${h.intervalSeconds === null ? 'interval unknown' : `every ${h.intervalSeconds} s`}${h.stale ? ` · stale after ${age(h.staleAfterSeconds)}` : ''}
                      </p>`}
                </div>
              </td>
              <td class="stack" data-label="Collectors"><div>${this.renderCollectors(h)}</div></td>
              <td class="stack" data-label="Perf events"><div>${this.renderPerf(h)}</div></td>
              <td class="stack" data-label="Containers and services"><div>${this.renderContainers(h)}</div></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  private renderChart() {
    const hosts = this.status?.hosts ?? [];
    if (!this.status || hosts.length === 0) return nothing;
    const h = hosts.find((x) => x.name === this.chartHost);
    return html`<section class="card" aria-labelledby="h-live">
      <div class="chart-head">
        <div>
          <h2 id="h-live">Live: CPU utilisation and IPC</h2>
          <p class="hint">The last 10 minutes from history, then each new snapshot as it is written.</p>
        </div>
        <div class="field">
          <label for="chart-host">Host</label>
          <select id="chart-host" .value=${this.chartHost} @change=${(e: Event) => (this.chartHost = (e.target as HTMLSelectElement).value)}>
            ${hosts.map((x) => html`<option value=${x.name} ?selected=${x.name === this.chartHost}>${x.name}${x.stale ? ' (stale)' : ''}</option>`)}
          </select>
        </div>
      </div>
      <pw-live-chart host=${this.chartHost} interval=${h?.intervalSeconds ?? 0} ipc-unavailable=${ipcUnavailable(h) ?? ''}></pw-live-chart>
    </section>`;
  }

  private renderStorage() {
    const s = this.status;
    if (!s) return nothing;
    const r = s.retention;
    const last = r.lastRun;
    return html`<section class="card" aria-labelledby="h-storage">
      <div class="wide-head">
        <h2 id="h-storage" class="caps">Storage and retention</h2>
        ${this.me?.role === 'admin' ? html`<a href="#/retention">Change retention</a>` : nothing}
      </div>
      <dl class="tiers">
        ${s.storage.map(
          (t) => html`<div data-tier=${t.tier}>
            <dt>${TIER_LABELS[t.tier].name}</dt>
            <dd>
              <span class="n">${bytes(t.bytes)}</span>
              ${t.rowsEstimated ? 'about ' : ''}${count(t.rows)} rows · kept ${days(t.days)}
            </dd>
          </div>`,
        )}
        <div>
          <dt>Next run</dt>
          <dd>
            <span class="n">${r.nextRunAt ? timeAgo(r.nextRunAt) : 'not scheduled'}</span>
            ${r.nextRunAt ? html`${when(r.nextRunAt)}` : r.enabled ? 'no api runs the background jobs' : html`<code>RETENTION_CLEANUP_ENABLED=false</code>`}
          </dd>
        </div>
        <div>
          <dt>Last run</dt>
          <dd>
            <span class="n">${last ? timeAgo(last.startedAt) : 'none yet'}</span>
            ${last
              ? last.error
                ? html`<span class="bad">failed</span>`
                : last.finishedAt
                  ? `OK · ${last.droppedPartitions.length} partition${last.droppedPartitions.length === 1 ? '' : 's'} dropped`
                  : 'running'
              : nothing}
          </dd>
        </div>
      </dl>
    </section>`;
  }

  override render() {
    const me = this.me;
    const b = this.build;
    const s = this.status;
    return html`<div class="screen">
      <div class="screen-head">
        <div>
          <h1 tabindex="-1">Status</h1>
          <p class="lead">Hosts writing history, their collectors and perf counters, and the api and database behind this console.</p>
        </div>
        <div class="refresh">
          <span class="muted" aria-live="polite">${this.checkedAt ? html`Checked ${timeAgo(this.checkedAt)}` : 'Checking…'}</span>
          <button type="button" class="small" @click=${() => void this.load()} aria-disabled=${ariaBusy(this.loading)}>${busyLabel(this.loading, 'Refresh', 'Refreshing…')}</button>
        </div>
      </div>

      <section class="card flush" aria-labelledby="h-hosts">
        <div class="card-head">
          <h2 id="h-hosts">Hosts</h2>
          <p class="hint">Stale: no snapshot for 3 × the host’s interval.</p>
        </div>
        ${this.statusError && s ? html`<div class="empty-hosts"><pw-alert .message=${this.statusError}></pw-alert></div>` : nothing}
        ${this.renderHosts()}
      </section>

      ${this.renderChart()}

      <div class="grid">
        ${this.probeCard('API', this.health, 'Answering', 'Not answering', html`<p class="muted">/health answered in ${Math.round(this.health?.ms ?? 0)} ms</p>`)}
        ${this.probeCard(
          'Database',
          this.ready,
          'Ready',
          'Not ready',
          html`<dl>
            <dt>Schema</dt>
            <dd>version ${this.ready?.schemaVersion}</dd>
            <dt>Size</dt>
            <dd data-db-size>${s ? bytes(s.database.sizeBytes) : '…'}</dd>
            <dt>PostgreSQL</dt>
            <dd>${s ? s.database.serverVersion.split(' ')[0] : '…'}</dd>
          </dl>`,
        )}
        <section class="card stat" aria-labelledby="h-version">
          <h2 id="h-version">Version</h2>
          ${this.buildError && !s
            ? html`<p class="muted">${this.buildError}</p>`
            : html`<p class="big">${s?.version ?? b?.version ?? '…'}</p>
                <dl>
                  <dt>Revision</dt>
                  <dd><code>${(s?.revision ?? b?.revision) || 'unknown'}</code></dd>
                  <dt>Node.js</dt>
                  <dd>${b?.nodejs ?? '…'}</dd>
                </dl>`}
        </section>
        <section class="card stat" aria-labelledby="h-session">
          <h2 id="h-session">Signed in as</h2>
          <p class="big">${me?.username}</p>
          <dl>
            <dt>Role</dt>
            <dd>${roleBadge(me?.role)}</dd>
            <dt>With</dt>
            <dd>${me?.authenticatedWith === 'api_token' ? 'an API token' : 'a login session'}</dd>
          </dl>
        </section>
      </div>

      ${this.renderStorage()}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-status-screen': PwStatusScreen;
  }
}
