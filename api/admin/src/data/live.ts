/**
 * The live stream (WebSocket /api/v1/live, docs/api.md "Live stream"): same origin, so the
 * session cookie authenticates it. LiveStream keeps one socket open, (re)subscribes to the hosts
 * it is given, and reconnects with a growing delay when the socket closes; before reconnecting it
 * makes one API call, which renews an expired session (or sends the console back to login).
 */
import { request } from './http.js';

export interface LiveSnapshot {
  type: 'snapshot';
  host: string;
  /** Unix ms of the collection. */
  ts: number;
  data: unknown;
  derived: { cpu_utilisation_ratio: number | null; instructions_per_cycle: number | null };
}

export type LiveState = 'connecting' | 'open' | 'closed';

export interface LiveHandlers {
  snapshot(m: LiveSnapshot): void;
  /** 'closed' carries why (the close reason or code) and that it will retry. */
  state?(s: LiveState, detail?: string): void;
  /** a {"type":"error"} message from the server. */
  error?(message: string): void;
}

const MAX_DELAY_MS = 30_000;

export class LiveStream {
  private ws?: WebSocket;
  private hosts: string[] = [];
  private closed = false;
  private delay = 1000;
  private timer?: number;

  constructor(private readonly on: LiveHandlers) {
    this.connect();
  }

  /** Subscribes to these hosts (["*"]: all), replacing the previous subscription. */
  subscribe(hosts: string[]): void {
    this.hosts = hosts;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'subscribe', hosts }));
  }

  close(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    this.ws?.close(1000, 'page left');
  }

  private connect(): void {
    if (this.closed) return;
    this.on.state?.('connecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/live`;
    const ws = (this.ws = new WebSocket(url));
    ws.addEventListener('open', () => {
      this.delay = 1000;
      this.on.state?.('open');
      if (this.hosts.length) ws.send(JSON.stringify({ type: 'subscribe', hosts: this.hosts }));
    });
    ws.addEventListener('message', (e) => {
      let m: { type?: unknown; message?: unknown };
      try {
        m = JSON.parse(String(e.data)) as typeof m;
      } catch {
        return;
      }
      if (m.type === 'snapshot') this.on.snapshot(m as unknown as LiveSnapshot);
      else if (m.type === 'error') this.on.error?.(typeof m.message === 'string' ? m.message : 'the live stream refused a message');
    });
    ws.addEventListener('close', (e) => {
      if (this.closed || this.ws !== ws) return;
      const why = e.reason || (e.code === 1006 ? 'the connection was lost or refused' : `closed (${e.code})`);
      this.on.state?.('closed', why);
      const wait = this.delay;
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
      this.timer = window.setTimeout(() => void this.reconnect(), wait);
    });
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    // A refused upgrade looks like any other lost connection: an API call renews an expired
    // session cookie first (or, when it cannot, the console goes back to login).
    try {
      await request('GET', '/api/v1/me');
    } catch {
      // the api is down or the session is gone: try again later all the same
    }
    this.connect();
  }
}
