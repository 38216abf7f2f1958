/**
 * <pw-live-chart host="web-1" interval="5" ipc-unavailable="instructions: not supported">: CPU
 * utilisation and instructions per cycle of one host, drawn with uPlot: the last ten minutes from
 * history (data/history.ts, POST /api/v1/query) and then point by point as its snapshots arrive
 * on the live stream (data/live.ts). The last POINTS points are kept. Where IPC cannot be counted
 * (no PMU, as on most VMs) its line is left out and the reason is shown instead of an empty line.
 * `data-points` (the points drawn), `data-backfill` (`loading`, `done`, `failed`) and
 * `data-state` (the socket) are for tests and curious people.
 */
import { LitElement, css, html, nothing, unsafeCSS, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import { recentHostPoints } from '../data/history.js';
import { isAbort, messageOf } from '../data/http.js';
import { LiveStream, type LiveSnapshot, type LiveState } from '../data/live.js';
import { theme } from '../theme.js';

/** Ten minutes at the default 5 s interval. */
const POINTS = 120;
/** How far back the chart starts from history. */
const BACKFILL_MINUTES = 10;
const HEIGHT = 220;
const CPU_COLOUR = '#2f5bd3';
const IPC_COLOUR = '#c2410c';
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

@customElement('pw-live-chart')
export class PwLiveChart extends LitElement {
  static override styles = [
    theme,
    unsafeCSS(uplotCss),
    css`
      .plot-wrap {
        position: relative;
        min-height: ${HEIGHT}px;
      }
      .waiting {
        position: absolute;
        inset: 0;
        display: flex;
        align-items: center;
        justify-content: center;
        text-align: center;
        padding: 1rem;
        color: var(--pw-muted);
        font-size: 0.92rem;
        pointer-events: none;
      }
      .readout {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 0.4rem 1.5rem;
        margin: 0 0 0.75rem;
        font-size: 0.92rem;
      }
      .key {
        display: inline-flex;
        align-items: baseline;
        gap: 0.45rem;
      }
      .swatch {
        width: 0.85rem;
        height: 0.22rem;
        border-radius: 2px;
        align-self: center;
      }
      .cpu .swatch {
        background: ${unsafeCSS(CPU_COLOUR)};
      }
      .ipc .swatch {
        background: ${unsafeCSS(IPC_COLOUR)};
      }
      .value {
        font-weight: 650;
        font-variant-numeric: tabular-nums;
      }
      .unavailable {
        color: var(--pw-warn);
        background: var(--pw-warn-soft);
        border-radius: 6px;
        padding: 0.15rem 0.55rem;
        font-size: 0.85rem;
      }
      .conn {
        margin-left: auto;
        font-size: 0.83rem;
        color: var(--pw-muted);
        display: inline-flex;
        align-items: center;
        gap: 0.4rem;
      }
      .conn .dot.open {
        background: var(--pw-ok);
      }
      .conn .dot.closed {
        background: var(--pw-danger);
      }
      .uplot {
        font-family: var(--pw-font);
      }
    `,
  ];

  /** the host to draw; empty: nothing. */
  @property() host = '';
  /** why IPC cannot be computed for this host (from its perf.un); empty: it can. */
  @property({ attribute: 'ipc-unavailable' }) ipcUnavailable = '';
  /** the host's interval in seconds (the step of the history part); 0: unknown. */
  @property({ type: Number }) interval = 0;

  @state() private points = 0;
  @state() private conn: LiveState = 'connecting';
  @state() private connDetail = '';
  @state() private lastCpu: number | null = null;
  @state() private lastIpc: number | null = null;
  @state() private lastTs = 0;
  @state() private backfill: 'loading' | 'done' | 'failed' = 'loading';
  @state() private backfillError = '';

  @query('.plot') private plotEl!: HTMLDivElement;

  private stream?: LiveStream;
  private plot?: uPlot;
  private resize?: ResizeObserver;
  private xs: number[] = [];
  private cpu: (number | null)[] = [];
  private ipc: (number | null)[] = [];
  private backfillAbort?: AbortController;

  override connectedCallback(): void {
    super.connectedCallback();
    this.stream = new LiveStream({
      snapshot: (m) => this.add(m),
      state: (s, detail) => {
        this.conn = s;
        this.connDetail = detail ?? '';
      },
      error: (msg) => {
        this.connDetail = msg;
      },
    });
    if (this.host) this.stream.subscribe([this.host]);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stream?.close();
    this.stream = undefined;
    this.backfillAbort?.abort();
    this.resize?.disconnect();
    this.resize = undefined;
    this.plot?.destroy();
    this.plot = undefined;
  }

  protected override firstUpdated(): void {
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT }));
    this.resize.observe(this.plotEl);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('host')) {
      this.xs = [];
      this.cpu = [];
      this.ipc = [];
      this.points = 0;
      this.lastCpu = this.lastIpc = null;
      this.lastTs = 0;
      if (this.host) {
        this.stream?.subscribe([this.host]);
        void this.loadHistory(this.host);
      }
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('host') || changed.has('ipcUnavailable') || !this.plot) this.build();
    this.setAttribute('data-points', String(this.points));
    this.setAttribute('data-state', this.conn);
    this.setAttribute('data-backfill', this.backfill);
  }

  /** The last minutes from history, put before whatever the stream has sent meanwhile. */
  private async loadHistory(host: string): Promise<void> {
    this.backfillAbort?.abort();
    const abort = (this.backfillAbort = new AbortController());
    this.backfill = 'loading';
    this.backfillError = '';
    try {
      const r = await recentHostPoints(host, BACKFILL_MINUTES, this.interval || 5, !this.ipcUnavailable, abort.signal);
      if (abort.signal.aborted || host !== this.host) return;
      const firstLive = this.xs[0] ?? Number.POSITIVE_INFINITY;
      const keep = r.ts.map((_, i) => i).filter((i) => r.ts[i]! / 1000 < firstLive);
      this.xs = [...keep.map((i) => r.ts[i]! / 1000), ...this.xs].slice(-POINTS);
      this.cpu = [...keep.map((i) => (r.cpu[i] == null ? null : r.cpu[i]! * 100)), ...this.cpu].slice(-POINTS);
      this.ipc = [...keep.map((i) => r.ipc[i] ?? null), ...this.ipc].slice(-POINTS);
      if (this.lastTs === 0 && keep.length) {
        const i = keep[keep.length - 1]!;
        this.lastCpu = r.cpu[i] == null ? null : r.cpu[i]! * 100;
        this.lastIpc = r.ipc[i] ?? null;
      }
      this.points = this.xs.length;
      this.plot?.setData([this.xs, this.cpu, this.ipc]);
      this.backfill = 'done';
    } catch (err) {
      if (isAbort(err)) return;
      this.backfill = 'failed';
      this.backfillError = messageOf(err);
    }
  }

  private width(): number {
    return Math.max(200, Math.floor(this.plotEl?.clientWidth ?? 600));
  }

  private add(m: LiveSnapshot): void {
    if (m.host !== this.host || typeof m.ts !== 'number') return;
    const x = m.ts / 1000;
    // The stream sends each snapshot once; a reconnect may repeat the newest.
    if (this.xs.length && x <= this.xs[this.xs.length - 1]!) return;
    const ratio = m.derived?.cpu_utilisation_ratio;
    const ipcValue = m.derived?.instructions_per_cycle;
    const cpu = typeof ratio === 'number' ? ratio * 100 : null;
    const ipc = typeof ipcValue === 'number' ? ipcValue : null;
    this.xs.push(x);
    this.cpu.push(cpu);
    this.ipc.push(ipc);
    if (this.xs.length > POINTS) {
      this.xs.shift();
      this.cpu.shift();
      this.ipc.shift();
    }
    this.lastCpu = cpu;
    this.lastIpc = ipc;
    this.lastTs = m.ts;
    this.points = this.xs.length;
    this.plot?.setData([this.xs, this.cpu, this.ipc]);
  }

  /** (Re)creates the plot: the IPC series and its axis exist only when IPC can be computed. */
  private build(): void {
    if (!this.plotEl) return;
    this.plot?.destroy();
    const ipc = !this.ipcUnavailable;
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      // A window of the last ten minutes that moves with the newest point: minute ticks, new points on the right.
      scales: {
        x: {
          time: true,
          range: (_u, _min, max) => {
            const end = max ?? Date.now() / 1000;
            return [end - BACKFILL_MINUTES * 60, end];
          },
        },
        pct: { range: [0, 100] },
        ipc: { auto: true },
      },
      series: [
        {},
        { label: 'CPU utilisation', scale: 'pct', stroke: CPU_COLOUR, width: 2, fill: 'rgba(47, 91, 211, 0.08)', spanGaps: false },
        { label: 'IPC', scale: 'ipc', stroke: IPC_COLOUR, width: 2, show: ipc },
      ],
      axes: [
        // Hours and minutes only, a tick a minute or two apart: the window is ten minutes.
        { stroke: '#586376', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#dfe3ea' }, space: 70, values: (_u, splits) => splits.map((t) => CLOCK.format(new Date(t * 1000))) },
        { scale: 'pct', stroke: '#586376', values: (_u, vals) => vals.map((v) => `${v} %`), grid: { stroke: '#eef0f4' }, ticks: { stroke: '#dfe3ea' }, size: 52 },
        { scale: 'ipc', side: 1, show: ipc, stroke: IPC_COLOUR, grid: { show: false }, size: 44 },
      ],
    };
    this.plot = new uPlot(opts, [this.xs, this.cpu, this.ipc], this.plotEl);
  }

  override render() {
    const pct = this.lastCpu;
    const label = `CPU utilisation${pct === null ? '' : ` ${pct.toFixed(1)} %`}${this.ipcUnavailable ? `; IPC unavailable: ${this.ipcUnavailable}` : this.lastIpc === null ? '' : `; IPC ${this.lastIpc.toFixed(2)}`}`;
    return html`<div class="readout" aria-live="off">
        <span class="key cpu"><span class="swatch" aria-hidden="true"></span>CPU utilisation <span class="value">${pct === null ? '—' : `${pct.toFixed(1)} %`}</span></span>
        ${this.ipcUnavailable
          ? html`<span class="key ipc unavailable" data-ipc="unavailable">IPC unavailable: ${this.ipcUnavailable}</span>`
          : html`<span class="key ipc"><span class="swatch" aria-hidden="true"></span>IPC <span class="value">${this.lastIpc === null ? '—' : this.lastIpc.toFixed(2)}</span></span>`}
        <span class="conn" title=${this.connDetail}>
          <span class="dot ${this.conn}" aria-hidden="true"></span>${this.conn === 'open' ? 'Live' : this.conn === 'connecting' ? 'Connecting…' : `Reconnecting (${this.connDetail})`}
        </span>
      </div>
      ${this.backfill === 'failed' ? html`<p class="hint">History could not be read (${this.backfillError}); showing new snapshots only.</p>` : nothing}
      <div class="plot-wrap" role="img" aria-label=${`Live chart of ${this.host}: ${label}`}>
        <div class="plot"></div>
        ${this.points === 0 && this.host
          ? html`<p class="waiting">${this.backfill === 'loading' ? 'Loading the last 10 minutes…' : this.conn === 'open' ? `No snapshot of ${this.host} in the last 10 minutes; waiting for the next…` : 'Connecting to the live stream…'}</p>`
          : nothing}
      </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-live-chart': PwLiveChart;
  }
}
