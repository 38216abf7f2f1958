/**
 * <pw-live-chart host="web-1" ipc-unavailable="instructions: not supported">: CPU utilisation
 * and instructions per cycle of one host, point by point as its snapshots arrive on the live
 * stream (data/live.ts), drawn with uPlot. The last POINTS points are kept. Where IPC cannot be
 * counted (no PMU, as on most VMs) its line is left out and the reason is shown instead of an
 * empty line. `data-points` (the points drawn) and `data-state` (the socket) are for tests and
 * curious people.
 */
import { LitElement, css, html, nothing, unsafeCSS, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import { LiveStream, type LiveSnapshot, type LiveState } from '../data/live.js';
import { theme } from '../theme.js';

/** Ten minutes at the default 5 s interval. */
const POINTS = 120;
const HEIGHT = 220;
const CPU_COLOUR = '#2f5bd3';
const IPC_COLOUR = '#c2410c';

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

  @state() private points = 0;
  @state() private conn: LiveState = 'connecting';
  @state() private connDetail = '';
  @state() private lastCpu: number | null = null;
  @state() private lastIpc: number | null = null;
  @state() private lastTs = 0;

  @query('.plot') private plotEl!: HTMLDivElement;

  private stream?: LiveStream;
  private plot?: uPlot;
  private resize?: ResizeObserver;
  private xs: number[] = [];
  private cpu: (number | null)[] = [];
  private ipc: (number | null)[] = [];

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
    this.resize?.disconnect();
    this.resize = undefined;
    this.plot?.destroy();
    this.plot = undefined;
  }

  protected override firstUpdated(): void {
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT }));
    this.resize.observe(this.plotEl);
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('host')) {
      this.xs = [];
      this.cpu = [];
      this.ipc = [];
      this.points = 0;
      this.lastCpu = this.lastIpc = null;
      this.lastTs = 0;
      if (this.host) this.stream?.subscribe([this.host]);
    }
    if (changed.has('host') || changed.has('ipcUnavailable') || !this.plot) this.build();
    this.setAttribute('data-points', String(this.points));
    this.setAttribute('data-state', this.conn);
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
    const ipc = m.derived?.instructions_per_cycle;
    this.xs.push(x);
    this.cpu.push(typeof ratio === 'number' ? ratio * 100 : null);
    this.ipc.push(typeof ipc === 'number' ? ipc : null);
    if (this.xs.length > POINTS) {
      this.xs.shift();
      this.cpu.shift();
      this.ipc.shift();
    }
    this.lastCpu = typeof ratio === 'number' ? ratio * 100 : null;
    this.lastIpc = typeof ipc === 'number' ? ipc : null;
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
      scales: { x: { time: true }, pct: { range: [0, 100] }, ipc: { auto: true } },
      series: [
        {},
        { label: 'CPU utilisation', scale: 'pct', stroke: CPU_COLOUR, width: 2, fill: 'rgba(47, 91, 211, 0.08)', spanGaps: false },
        { label: 'IPC', scale: 'ipc', stroke: IPC_COLOUR, width: 2, show: ipc },
      ],
      axes: [
        { stroke: '#586376', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#dfe3ea' } },
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
      <div class="plot-wrap" role="img" aria-label=${`Live chart of ${this.host}: ${label}`}>
        <div class="plot"></div>
        ${this.points === 0 && this.host
          ? html`<p class="waiting">${this.conn === 'open' ? `Waiting for the next snapshot of ${this.host}…` : 'Connecting to the live stream…'}</p>`
          : nothing}
      </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-live-chart': PwLiveChart;
  }
}
