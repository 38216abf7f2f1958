/**
 * <pw-retention-screen> (administrators): days kept per storage tier (GET/PUT
 * /api/v1/retention), checked as the api checks them (whole days in range, raw <= 1m <= 1h),
 * and the history of retention runs, newest first, a page at a time; "Run now" queues a run to the
 * api's background jobs and refreshes the history until it shows.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { isAbort, messageOf, settle } from '../data/http.js';
import { getRetention, listRuns, retentionProblems, runRetentionNow, setRetention, TIER_LABELS, TIER_ORDER } from '../data/retention.js';
import { getStatus, type Status } from '../data/status.js';
import type { RetentionRun, Tier, TierPolicy } from '../data/types.js';
import { ariaBusy, busyLabel, fieldError } from '../forms.js';
import { bytes, count, duration, timeAgo, when } from '../format.js';
import { theme } from '../theme.js';
import './pw-alert.js';

const PAGE = 20;

@customElement('pw-retention-screen')
export class PwRetentionScreen extends LitElement {
  static override styles = [
    theme,
    css`
      .tiers {
        display: grid;
        gap: 1rem;
        grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr));
      }
      .tier {
        border: 1px solid var(--pw-border);
        border-radius: 8px;
        padding: 1rem;
        background: var(--pw-subtle);
        display: flex;
        flex-direction: column;
        gap: 0.4rem;
      }
      .tier-name {
        display: flex;
        align-items: baseline;
        justify-content: space-between;
        gap: 0.5rem;
      }
      .days {
        display: flex;
        align-items: center;
        gap: 0.5rem;
      }
      .days input {
        width: 7.5rem;
        font-variant-numeric: tabular-nums;
      }
      .usage {
        margin: 0.35rem 0 0;
        padding-top: 0.55rem;
        border-top: 1px solid var(--pw-border);
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 0.2rem 0.6rem;
        font-size: 0.88rem;
      }
      .usage .used {
        font-weight: 650;
        font-size: 1rem;
      }
      .next {
        margin: 0 0 0.5rem;
        font-size: 0.92rem;
      }
      .run-now {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.75rem;
      }
      .partitions {
        font-family: var(--pw-mono);
        font-size: 0.82rem;
        color: var(--pw-muted);
        overflow-wrap: anywhere;
      }
      .more {
        padding: 0.9rem 1.35rem 1.1rem;
        border-top: 1px solid var(--pw-border);
      }
      .result {
        display: inline-flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 0.25rem 0.5rem;
        overflow-wrap: anywhere;
      }
      @media (max-width: 760px) {
        .result {
          justify-content: flex-end;
        }
      }
    `,
  ];

  @state() private tiers?: TierPolicy[];
  @state() private loadError = '';
  @state() private draft: Record<Tier, string> = { raw: '', '1m': '', '1h': '' };
  @state() private invalid: Partial<Record<Tier, string>> = {};
  @state() private saving = false;
  @state() private saveError = '';
  @state() private saved = '';
  @state() private runs?: RetentionRun[];
  @state() private nextBefore: number | null = null;
  @state() private runsError = '';
  @state() private loadingRuns = false;
  @state() private running = false;
  @state() private runError = '';
  @state() private runQueued = '';
  @state() private status?: Status;
  @state() private statusError = '';

  private abort = new AbortController();

  override connectedCallback(): void {
    super.connectedCallback();
    this.abort = new AbortController();
    void this.load();
    void this.loadRuns(false);
    void this.loadStatus();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort.abort();
  }

  private adopt(tiers: TierPolicy[]): void {
    this.tiers = tiers;
    const d = { ...this.draft };
    for (const t of tiers) d[t.tier] = String(t.days);
    this.draft = d;
  }

  private load(): Promise<void> {
    return settle(getRetention(this.abort.signal), (tiers) => (this.adopt(tiers), (this.loadError = '')), (m) => (this.loadError = m));
  }

  /** Storage per tier and the schedule (GET /api/v1/status). */
  private loadStatus(): Promise<void> {
    return settle(getStatus(this.abort.signal), (s) => ((this.status = s), (this.statusError = '')), (m) => (this.statusError = m));
  }

  private async loadRuns(more: boolean): Promise<void> {
    this.loadingRuns = true;
    try {
      const page = await listRuns({ limit: PAGE, ...(more && this.nextBefore !== null ? { before: this.nextBefore } : {}) }, this.abort.signal);
      this.runs = more ? [...(this.runs ?? []), ...page.runs] : page.runs;
      this.nextBefore = page.nextBefore;
      this.runsError = '';
    } catch (err) {
      if (!isAbort(err)) this.runsError = messageOf(err);
    } finally {
      this.loadingRuns = false;
    }
  }

  private async runNow(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.runError = '';
    this.runQueued = '';
    const before = this.runs?.[0]?.id ?? 0;
    try {
      const r = await runRetentionNow(this.abort.signal);
      this.runQueued = r.queued ? 'Retention run queued; it appears below when it has finished.' : 'A retention run is already waiting; it appears below when it has finished.';
      // The job runs within seconds: look for its rows for up to half a minute.
      for (let i = 0; i < 15 && !this.abort.signal.aborted; i++) {
        await new Promise((res) => setTimeout(res, 2000));
        await this.loadRuns(false);
        if ((this.runs?.[0]?.id ?? 0) > before) {
          this.runQueued = 'Retention run finished.';
          void this.loadStatus();
          break;
        }
      }
    } catch (err) {
      if (!isAbort(err)) this.runError = messageOf(err);
    } finally {
      this.running = false;
    }
  }

  private input(tier: Tier, e: Event): void {
    this.draft = { ...this.draft, [tier]: (e.target as HTMLInputElement).value };
    this.saved = '';
  }

  private async save(e: Event): Promise<void> {
    e.preventDefault();
    if (this.saving || !this.tiers) return;
    const num = (s: string) => (s.trim() === '' ? undefined : Number(s));
    const values = { raw: num(this.draft.raw), '1m': num(this.draft['1m']), '1h': num(this.draft['1h']) };
    this.invalid = retentionProblems(values, this.tiers);
    const bad = TIER_ORDER.find((t) => this.invalid[t]);
    if (bad) {
      this.saveError = '';
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLInputElement>(`#days-${bad}`)?.focus();
      return;
    }
    // Only what changed, so a concurrent change of another tier is not overwritten.
    const changed: Partial<Record<Tier, number>> = {};
    for (const t of this.tiers) if (values[t.tier] !== t.days) changed[t.tier] = values[t.tier]!;
    if (Object.keys(changed).length === 0) {
      this.saved = 'Nothing changed.';
      return;
    }
    this.saving = true;
    this.saveError = '';
    this.saved = '';
    try {
      this.adopt(await setRetention(changed, this.abort.signal));
      this.saved = `Saved: ${TIER_ORDER.filter((t) => changed[t] !== undefined)
        .map((t) => `${TIER_LABELS[t].name.toLowerCase()} ${changed[t]} days`)
        .join(', ')}. The next retention run applies it.`;
    } catch (err) {
      if (isAbort(err)) return;
      this.saveError = messageOf(err);
    } finally {
      this.saving = false;
    }
  }

  private renderTier(t: TierPolicy) {
    const id = `days-${t.tier}`;
    const err = this.invalid[t.tier];
    return html`<div class="tier">
      <div class="tier-name">
        <label for=${id}>${TIER_LABELS[t.tier].name}</label>
        <code class="muted">${t.tier}</code>
      </div>
      <p class="hint">${TIER_LABELS[t.tier].what}</p>
      <div class="days">
        <input id=${id} type="number" inputmode="numeric" min=${t.minDays} max=${t.maxDays} step="1" .value=${this.draft[t.tier]}
          @input=${(e: Event) => this.input(t.tier, e)} aria-invalid=${err ? 'true' : 'false'} aria-describedby=${`${id}-hint ${id}-error`} />
        <span>days</span>
      </div>
      <p class="hint" id=${`${id}-hint`}>${t.minDays}–${t.maxDays.toLocaleString()} days · changed ${timeAgo(t.updatedAt)}</p>
      ${fieldError(`${id}-error`, err)}
      ${this.renderUsage(t.tier)}
    </div>`;
  }

  /** What the tier holds now: bytes, rows, partitions. */
  private renderUsage(tier: Tier) {
    const u = this.status?.storage.find((x) => x.tier === tier);
    if (!u) return this.statusError ? nothing : html`<p class="usage muted">Measuring…</p>`;
    return html`<p class="usage" data-usage=${tier}>
      <span class="used">${bytes(u.bytes)}</span>
      <span class="muted">stored · ${u.rowsEstimated ? 'about ' : ''}${count(u.rows)} ${u.rows === 1 ? 'row' : 'rows'} in ${u.partitions} ${u.partitions === 1 ? 'partition' : 'partitions'}</span>
    </p>`;
  }

  /** When the daily run comes next, or why it does not. */
  private renderNext() {
    const r = this.status?.retention;
    if (!r) return nothing;
    return html`<p class="next" data-next-run>
      ${r.nextRunAt
        ? html`Next scheduled run <strong>${timeAgo(r.nextRunAt)}</strong> (<time datetime=${r.nextRunAt}>${when(r.nextRunAt)}</time>)`
        : r.enabled
          ? html`No run is scheduled: no api runs the background jobs (<code>PERFWATCH_API_JOBS</code>).`
          : html`The daily run is off (<code>RETENTION_CLEANUP_ENABLED=false</code>); Run now still works.`}
    </p>`;
  }

  private renderRuns() {
    const runs = this.runs;
    if (this.runsError) return html`<div class="more"><pw-alert .message=${this.runsError}></pw-alert></div>`;
    if (!runs) return html`<p class="empty"><span class="spinner" aria-hidden="true"></span> Loading runs…</p>`;
    if (runs.length === 0) return html`<p class="empty">No retention runs yet. They appear here once the retention job has run.</p>`;
    return html`<div class="table-wrap">
        <table class="cards">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Tier</th>
              <th scope="col">Took</th>
              <th scope="col">Dropped</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            ${runs.map(
              (r) => html`<tr>
                <td class="primary-cell" data-label="Started"><time datetime=${r.startedAt}>${when(r.startedAt)}</time></td>
                <td data-label="Tier"><code>${r.tier}</code></td>
                <td data-label="Took">${r.finishedAt ? duration(r.durationSeconds) : html`<span class="badge accent">running</span>`}</td>
                <td data-label="Dropped">
                  ${r.droppedPartitions.length === 0
                    ? html`<span class="muted">nothing</span>`
                    : html`<span title=${r.droppedPartitions.join(', ')}>${r.droppedPartitions.length} partition${r.droppedPartitions.length === 1 ? '' : 's'}</span>`}
                </td>
                <td data-label="Result">
                  <span class="result">${r.error ? html`<span class="badge danger">Failed</span> <span class="muted">${r.error}</span>` : r.finishedAt ? html`<span class="badge ok">OK</span>` : nothing}</span>
                </td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${this.nextBefore !== null
        ? html`<div class="more">
            <button type="button" @click=${() => void this.loadRuns(true)} aria-disabled=${ariaBusy(this.loadingRuns)}>${busyLabel(this.loadingRuns, 'Show older runs', 'Loading…')}</button>
          </div>`
        : nothing}`;
  }

  override render() {
    return html`<div class="screen">
      <div class="screen-head">
        <div>
          <h1 tabindex="-1">Retention</h1>
          <p class="lead">How long PerfWatch keeps history, per storage tier. Older data is dropped a whole partition at a time by the retention job.</p>
        </div>
      </div>

      <section class="card" aria-labelledby="policy-title">
        <div class="card-head">
          <h2 id="policy-title">Days kept</h2>
          <p class="hint">Finer tiers cannot be kept longer than coarser ones: raw ≤ 1 minute ≤ 1 hour.</p>
        </div>
        ${this.statusError ? html`<pw-alert .message=${`Storage used could not be read: ${this.statusError}`}></pw-alert>` : nothing}
        ${this.loadError
          ? html`<pw-alert .message=${this.loadError}></pw-alert>`
          : !this.tiers
            ? html`<p class="muted"><span class="spinner" aria-hidden="true"></span> Loading…</p>`
            : html`<form @submit=${this.save} novalidate aria-busy=${ariaBusy(this.saving)}>
                <div class="tiers">${this.tiers.map((t) => this.renderTier(t))}</div>
                <pw-alert class="mt" .message=${this.saveError}></pw-alert>
                <pw-alert class="mt" kind="success" .message=${this.saved}></pw-alert>
                <div class="form-actions">
                  <button type="submit" class="primary" aria-disabled=${ariaBusy(this.saving)}>${busyLabel(this.saving, 'Save retention', 'Saving…')}</button>
                </div>
              </form>`}
      </section>

      <section class="card flush" aria-labelledby="runs-title">
        <div class="card-head">
          <h2 id="runs-title">Runs</h2>
          <div class="run-now">
            <button type="button" @click=${this.runNow} aria-disabled=${ariaBusy(this.running)} aria-describedby="run-now-why">${busyLabel(this.running, 'Run now', 'Running…')}</button>
            <span class="hint" id="run-now-why">Drops expired partitions now instead of at the daily run.</span>
          </div>
        </div>
        <div class="more">
          ${this.renderNext()}
          <pw-alert .message=${this.runError}></pw-alert>
          <pw-alert kind="success" .message=${this.runQueued}></pw-alert>
        </div>
        ${this.renderRuns()}
      </section>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-retention-screen': PwRetentionScreen;
  }
}
