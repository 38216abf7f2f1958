/**
 * The live stream, WebSocket `/api/v1/live` (docs/api.md, "Live stream"), on every HTTP server
 * of the api (the api port and the admin UI's):
 *
 * - Authenticated before the upgrade (Authorization: Bearer, ?access_token=, or the admin UI's
 *   session cookie) through the same AuthService as the routes; a refusal is an HTTP answer
 *   `{error:{code,message}}` (401, 403, 429, 503), never an upgrade.
 * - One dedicated PostgreSQL connection LISTENs on the writer's channel (store's
 *   snapshotsChannel) while there are clients; a lost connection is opened again with backoff,
 *   and what was written meanwhile is sent once it is back.
 * - Per notification, each subscribed host's new snapshots are read once (not once per client),
 *   `derived` is computed against the host's previous snapshot, the message is serialized once
 *   and the same bytes go to every subscriber.
 * - A client whose unsent bytes pass PERFWATCH_LIVE_MAX_BUFFER_BYTES is closed (1013) and counted;
 *   a client that does not answer a ping within PERFWATCH_LIVE_PING_SECONDS is terminated; a
 *   client whose credential is revoked or expires is closed (4001). Bad messages get an error frame.
 */
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { hostIdsByName, isTransient, snapshotsChannel, type Pool, type Snapshot } from '@perfwatch/store';
import { JwtKeys } from './auth/jwt.js';
import type { PasswordHasher } from './auth/passwords.js';
import { AuthService } from './auth/service.js';
import { bearerCredential } from './auth/strategies.js';
import type { Credential, Principal } from './auth/types.js';
import type { ApiConfig } from './config.js';
import { findNul, NUL_MESSAGE } from './edge.js';
import { ApiError, dbUnavailable, errorMessage, unauthenticated } from './errors.js';
import type { Logger } from './log.js';
import type { ApiMetrics } from './metrics.js';
import { derive } from './live/derived.js';
import { newestSnapshots } from './live/queries.js';

export const LIVE_PATH = '/api/v1/live';

/** Close codes the server uses (1013: try again later; 4001: the credential is no longer valid). */
export const CLOSE = Object.freeze({ goingAway: 1001, tooSlow: 1013, revoked: 4001 });

/** Most hosts one subscribe message may name. */
export const MAX_SUBSCRIBE_HOSTS = 1000;
/** Most snapshots of one host sent for one notification (a catch-up after an outage sends the newest). */
const MAX_CATCH_UP = 100;
/** Each connection's credential is checked again every this many pings (60 s at the default 15 s). */
const REVALIDATE_EVERY_PINGS = 4;
/** Backoff of the LISTEN connection: first wait and longest wait. */
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;
/** The LISTEN connection is kept this many pings after the last client left (30 s at 15 s). */
const LINGER_PINGS = 2;
/** How long a client closed for being slow may still read what it was sent (then the socket is destroyed). */
const CLOSE_GRACE_MS = 5_000;

export interface LiveDeps {
  config: ApiConfig;
  pool: Pool;
  log: Logger;
  metrics: ApiMetrics;
  hasher: PasswordHasher;
  jwtSecret: Buffer;
}

export type DropReason = 'slow' | 'dead' | 'revoked';

interface Client {
  ws: WebSocket;
  principal: Principal;
  /** credential to check again (every REVALIDATE_EVERY_PINGS pings). */
  credential: Credential;
  /** subscribed host names; `all` for ["*"]. */
  hosts: Set<string>;
  all: boolean;
  alive: boolean;
  /** messages of this client are handled one at a time. */
  queue: Promise<void>;
  closing: boolean;
}

interface HostState {
  /** ts of the newest snapshot sent or taken as the starting point; null: the host had none. */
  lastTs: number | null;
  /** that snapshot, for `derived` of the next one. */
  last: Snapshot | null;
  /** whether lastTs is known (else the first notification sends the newest snapshot). */
  known: boolean;
  busy: boolean;
  dirty: boolean;
  /** resolved when the current run (and the ones it queued) finish. */
  idle: Promise<void>;
  resolveIdle: () => void;
}

export interface LiveStats {
  clients: number;
  listening: boolean;
  /** the LISTEN connection's server process id (tests terminate it). */
  listenerPid: number | undefined;
  sent: number;
  dropped: Record<DropReason, number>;
}

/** An HTTP answer on a socket that asked to upgrade, then the socket is closed. */
function refuse(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  const headers = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Connection: close',
    ...Object.entries(err.headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

function errorFrame(code: string, message: string): string {
  return JSON.stringify({ type: 'error', code, message });
}

export class LiveStream {
  private readonly wss: WebSocketServer;
  private readonly auth: AuthService;
  private readonly clients = new Set<Client>();
  private readonly perUser = new Map<number, number>();
  private readonly hostStates = new Map<string, HostState>();
  private readonly channel: string;
  private readonly log: Logger;
  private listener: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private listenWanted = false;
  private linger: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoff = RECONNECT_MIN_MS;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly revalidate: NodeJS.Timeout;
  private closed = false;
  private sentCount = 0;
  private readonly droppedCount: Record<DropReason, number> = { slow: 0, dead: 0, revoked: 0 };
  private readonly servers: { server: Server; onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void }[] = [];

  constructor(private readonly deps: LiveDeps) {
    const { config, pool, metrics, hasher, jwtSecret } = deps;
    this.log = deps.log.child({ component: 'live' });
    this.auth = new AuthService({ pool, config, hasher, jwt: new JwtKeys(jwtSecret, config.jwtTtlSeconds), metrics, log: deps.log.child({ component: 'auth' }) });
    this.channel = snapshotsChannel(config.dbSchema);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: config.liveMaxMessageBytes, perMessageDeflate: false, clientTracking: false });
    this.heartbeat = setInterval(() => this.beat(), config.livePingSeconds * 1000);
    this.heartbeat.unref();
    this.revalidate = setInterval(() => this.revalidateAll(), config.livePingSeconds * 1000 * REVALIDATE_EVERY_PINGS);
    this.revalidate.unref();
    metrics.observeLive(() => this.stats());
  }

  stats(): LiveStats {
    return {
      clients: this.clients.size,
      listening: this.listener !== undefined,
      listenerPid: (this.listener as unknown as { processID?: number } | undefined)?.processID,
      sent: this.sentCount,
      dropped: { ...this.droppedCount },
    };
  }

  /** Serves /api/v1/live on this HTTP server (other upgrade requests are answered 404). */
  attach(server: Server): void {
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', (err) => this.log.debug({ err: errorMessage(err) }, 'live socket error before the upgrade'));
      this.upgrade(req, socket, head).catch((err: unknown) => {
        this.log.error({ err: errorMessage(err) }, 'live upgrade failed');
        refuse(socket, new ApiError(500, 'INTERNAL_ERROR', 'internal error; see the api log'));
      });
    };
    server.on('upgrade', onUpgrade);
    this.servers.push({ server, onUpgrade });
  }

  // ---- the LISTEN connection ----------------------------------------------------------------------
  // Held while the stream has clients (and LINGER_PINGS pings after the last one left), so an api
  // nobody watches live holds no connection for it.

  /** Opens the LISTEN connection unless it is open or opening; never rejects (it retries). */
  private connect(): Promise<void> {
    this.connecting ??= this.openListener().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** A client arrived: the LISTEN connection is wanted. */
  private wantListener(): void {
    this.listenWanted = true;
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    if (!this.listener && !this.reconnectTimer) void this.connect();
  }

  /** The last client left: the LISTEN connection goes after a while unless another one comes. */
  private lingerListener(): void {
    if (this.clients.size > 0 || this.linger || this.closed) return;
    this.linger = setTimeout(() => {
      this.linger = undefined;
      if (this.clients.size > 0) return;
      this.listenWanted = false;
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.backoff = RECONNECT_MIN_MS;
      const l = this.listener;
      this.listener = undefined;
      l?.end().catch(() => undefined);
    }, this.deps.config.livePingSeconds * 1000 * LINGER_PINGS);
    this.linger.unref();
  }

  private async openListener(): Promise<void> {
    if (this.closed || this.listener || !this.listenWanted) return;
    const { config } = this.deps;
    const client = new pg.Client({
      connectionString: config.databaseUrl,
      connectionTimeoutMillis: config.dbConnectTimeoutSeconds * 1000,
      query_timeout: config.dbConnectTimeoutSeconds * 1000 + 5_000,
      application_name: 'perfwatch-api-live',
      keepAlive: true,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.closed || !this.listenWanted) return;
      this.log.warn({ err: err ? errorMessage(err) : 'connection ended' }, 'live stream: the LISTEN connection was lost; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (n) => {
      if (n.channel === this.channel) this.onNotify(n.payload ?? '');
    });
    try {
      await client.connect();
      // The channel name is made of the schema name (validated: [a-z0-9_]) by snapshotsChannel.
      await client.query(`LISTEN "${this.channel}"`);
    } catch (err) {
      onLost(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (lost) return;
    if (this.closed || !this.listenWanted) {
      lost = true;
      await client.end().catch(() => undefined);
      return;
    }
    const wasDown = this.backoff > RECONNECT_MIN_MS;
    this.listener = client;
    this.backoff = RECONNECT_MIN_MS;
    if (wasDown) this.log.info('live stream: LISTEN re-established');
    // Whatever was written while nobody listened.
    this.onNotify(null);
  }

  private scheduleReconnect(): void {
    if (this.closed || !this.listenWanted || this.reconnectTimer) return;
    const wait = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'live stream: reconnecting failed'));
    }, wait);
    this.reconnectTimer.unref();
  }

  // ---- notifications and fan-out -------------------------------------------------------------------

  /** A notification (null: "anything may have changed", after a reconnect). */
  private onNotify(payload: string | null): void {
    let hosts: string[] | 'all' = 'all';
    if (payload !== null) {
      try {
        const p = JSON.parse(payload) as { hosts?: unknown; all?: unknown };
        if (Array.isArray(p.hosts) && p.hosts.every((h) => typeof h === 'string')) hosts = p.hosts as string[];
      } catch {
        hosts = 'all';
      }
    }
    const wildcard = [...this.clients].some((c) => c.all);
    if (hosts === 'all') {
      const named = new Set<string>();
      for (const c of this.clients) for (const h of c.hosts) named.add(h);
      for (const h of named) this.pump(h);
      if (wildcard) {
        hostIdsByName(this.deps.pool, 'all').then(
          (m) => {
            for (const h of m.keys()) this.pump(h);
          },
          (err: unknown) => this.log.warn({ err: errorMessage(err) }, 'live stream: listing hosts failed'),
        );
      }
      return;
    }
    for (const h of hosts) if (wildcard || this.isSubscribed(h)) this.pump(h);
  }

  private isSubscribed(host: string): boolean {
    for (const c of this.clients) if (c.all || c.hosts.has(host)) return true;
    return false;
  }

  private stateOf(host: string): HostState {
    let s = this.hostStates.get(host);
    if (!s) {
      const st: HostState = { lastTs: null, last: null, known: false, busy: false, dirty: false, idle: Promise.resolve(), resolveIdle: () => undefined };
      this.hostStates.set(host, st);
      s = st;
    }
    return s;
  }

  /** Reads and sends a host's new snapshots; runs once at a time per host, again if asked meanwhile. */
  private pump(host: string): Promise<void> {
    const st = this.stateOf(host);
    if (st.busy) {
      st.dirty = true;
      return st.idle;
    }
    st.busy = true;
    st.idle = new Promise<void>((resolve) => {
      st.resolveIdle = resolve;
    });
    void (async () => {
      try {
        do {
          st.dirty = false;
          await this.refresh(host, st);
        } while (st.dirty && !this.closed);
      } catch (err) {
        const level = isTransient(err) ? 'warn' : 'error';
        this.log[level]({ err: errorMessage(err), host }, 'live stream: reading new snapshots failed');
      } finally {
        st.busy = false;
        st.resolveIdle();
      }
    })();
    return st.idle;
  }

  private async refresh(host: string, st: HostState): Promise<void> {
    if (!this.isSubscribed(host)) return;
    if (!st.known) {
      // First contact with this host (a "*" subscriber): its newest snapshot, the one before for `derived`.
      const rows = await newestSnapshots(this.deps.pool, host, null, 2);
      st.known = true;
      if (rows[0]) this.send(host, rows[0], rows[1] ?? null, st);
      return;
    }
    const rows = await newestSnapshots(this.deps.pool, host, st.lastTs, MAX_CATCH_UP + 1);
    if (!rows.length) return;
    rows.reverse();
    // More than MAX_CATCH_UP new ones: the oldest read only serves as the previous of the next.
    let prev = rows.length > MAX_CATCH_UP ? rows.shift()! : st.last;
    for (const s of rows) {
      this.send(host, s, prev, st);
      prev = s;
    }
  }

  private send(host: string, s: Snapshot, prev: Snapshot | null, st: HostState): void {
    st.last = s;
    st.lastTs = s.ts;
    const msg = Buffer.from(JSON.stringify({ type: 'snapshot', host, ts: s.ts, data: s, derived: derive(prev, s) }));
    let n = 0;
    for (const c of this.clients) {
      if (c.closing || (!c.all && !c.hosts.has(host))) continue;
      if (this.deliver(c, msg)) n++;
    }
    this.sentCount += n;
    this.deps.metrics.liveSent(n);
  }

  /** Sends one message, or drops the client when it has too much unsent already. */
  private deliver(c: Client, msg: Buffer): boolean {
    if (c.ws.readyState !== WebSocket.OPEN) return false;
    const bound = this.deps.config.liveMaxBufferBytes;
    if (c.ws.bufferedAmount > bound) {
      this.drop(c, 'slow', CLOSE.tooSlow, `too slow: more than ${bound} bytes waiting to be sent (PERFWATCH_LIVE_MAX_BUFFER_BYTES)`);
      return false;
    }
    c.ws.send(msg, { binary: false });
    return true;
  }

  private drop(c: Client, reason: DropReason, code?: number, text?: string): void {
    if (c.closing) return;
    c.closing = true;
    this.droppedCount[reason]++;
    this.deps.metrics.liveDropped(reason);
    this.log.info({ user: c.principal.username, reason }, 'live client dropped');
    if (code === undefined) {
      c.ws.terminate();
      return;
    }
    c.ws.close(code, text);
    // A reader that never wakes up must not hold its buffer for ever.
    setTimeout(() => c.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  // ---- heartbeat and credentials ------------------------------------------------------------------

  private beat(): void {
    for (const c of this.clients) {
      if (c.closing) continue;
      if (!c.alive) {
        this.drop(c, 'dead');
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        this.drop(c, 'dead');
      }
    }
    // A silently dead LISTEN connection (no RST from a vanished server) shows up here.
    const l = this.listener;
    if (l) l.query('SELECT 1').catch((err: unknown) => l.emit('error', err instanceof Error ? err : new Error(String(err))));
  }

  private revalidateAll(): void {
    // Clients that share a credential (a user's browser tabs, a wall of dashboards on one token)
    // are checked with one database read per round, not one each.
    const checks = new Map<string, Promise<Principal>>();
    for (const c of this.clients) {
      if (c.closing) continue;
      const key = `${c.credential.from}\n${c.credential.token}`;
      let check = checks.get(key);
      if (!check) {
        check = this.auth.authenticateCredential(c.credential);
        checks.set(key, check);
      }
      check.then(
        (p) => {
          if (p.mustChangePassword) this.drop(c, 'revoked', CLOSE.revoked, 'a password change is required');
        },
        (err: unknown) => {
          // A database outage is not the client's fault: it keeps its connection.
          if (err instanceof ApiError && err.status === 401) this.drop(c, 'revoked', CLOSE.revoked, `credential no longer valid: ${err.message}`.slice(0, 120));
        },
      );
    }
  }

  // ---- connections ----------------------------------------------------------------------------------

  /** A browser page of another site must not use the session cookie to open a stream. */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.deps.config.corsOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== LIVE_PATH) {
      refuse(socket, new ApiError(404, 'NOT_FOUND', `no WebSocket at ${url.pathname.slice(0, 200)}; the live stream is ${LIVE_PATH}`));
      return;
    }
    if (this.closed) {
      refuse(socket, new ApiError(503, 'SHUTTING_DOWN', 'the api is shutting down'));
      return;
    }
    let principal: Principal;
    let cred: Credential | undefined;
    try {
      cred = bearerCredential(req, url.searchParams.get('access_token'));
      if (!cred) throw unauthenticated('UNAUTHENTICATED', 'log in first: send Authorization: Bearer <token>, ?access_token=<token> or the session cookie');
      if (cred.from === 'cookie' && !this.originAllowed(req)) {
        throw new ApiError(403, 'ORIGIN_NOT_ALLOWED', `origin ${String(req.headers.origin).slice(0, 200)} is not allowed (PERFWATCH_CORS_ORIGINS)`);
      }
      principal = await this.auth.authenticateCredential(cred);
      if (principal.mustChangePassword) {
        throw new ApiError(403, 'PASSWORD_CHANGE_REQUIRED', 'change your password first: POST /api/v1/auth/password with currentPassword and newPassword');
      }
    } catch (err) {
      if (err instanceof ApiError) refuse(socket, err);
      else if (isTransient(err)) refuse(socket, dbUnavailable(err));
      else throw err;
      return;
    }
    const { config } = this.deps;
    if (this.clients.size >= config.liveMaxClients) {
      refuse(socket, new ApiError(503, 'TOO_MANY_CLIENTS', `the live stream has its maximum of ${config.liveMaxClients} clients (PERFWATCH_LIVE_MAX_CLIENTS)`, { headers: { 'retry-after': '30' } }));
      return;
    }
    if ((this.perUser.get(principal.userId) ?? 0) >= config.liveMaxClientsPerUser) {
      refuse(socket, new ApiError(429, 'TOO_MANY_CONNECTIONS', `${principal.username} has ${config.liveMaxClientsPerUser} live connections open already (PERFWATCH_LIVE_MAX_CLIENTS_PER_USER)`, { headers: { 'retry-after': '30' } }));
      return;
    }
    if (socket.destroyed || this.closed) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, principal, cred!));
  }

  private accept(ws: WebSocket, principal: Principal, credential: Credential): void {
    const c: Client = { ws, principal, credential, hosts: new Set(), all: false, alive: true, queue: Promise.resolve(), closing: false };
    this.clients.add(c);
    this.wantListener();
    this.perUser.set(principal.userId, (this.perUser.get(principal.userId) ?? 0) + 1);
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('error', (err) => this.log.debug({ err: errorMessage(err) }, 'live client error'));
    ws.on('close', () => {
      c.closing = true;
      this.clients.delete(c);
      const n = (this.perUser.get(principal.userId) ?? 1) - 1;
      if (n > 0) this.perUser.set(principal.userId, n);
      else this.perUser.delete(principal.userId);
      this.forgetUnsubscribed();
      this.lingerListener();
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      c.queue = c.queue.then(() => this.onMessage(c, data, isBinary)).catch((err: unknown) => {
        this.log.warn({ err: errorMessage(err) }, 'live message failed');
        if (isTransient(err)) this.reply(c, errorFrame('DB_UNAVAILABLE', 'the database cannot be reached right now; the subscription is in force, send it again for its starting point'));
        else this.reply(c, errorFrame('INTERNAL_ERROR', 'the message could not be handled; see the api log'));
      });
    });
  }

  private reply(c: Client, text: string): void {
    if (!c.closing) this.deliver(c, Buffer.from(text));
  }

  private async onMessage(c: Client, data: RawData, isBinary: boolean): Promise<void> {
    if (c.closing) return;
    if (isBinary) return this.reply(c, errorFrame('INVALID_MESSAGE', 'send JSON text messages, e.g. {"type":"subscribe","hosts":["*"]}'));
    let msg: unknown;
    try {
      msg = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
    } catch {
      return this.reply(c, errorFrame('INVALID_JSON', 'the message is not valid JSON'));
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.reply(c, errorFrame('INVALID_MESSAGE', 'a message is a JSON object with a "type"'));
    // As the HTTP edge does (edge.ts): PostgreSQL's text cannot hold U+0000, so no host name has it.
    const nul = findNul(msg);
    if (nul) return this.reply(c, errorFrame('VALIDATION_FAILED', `${nul.join('.').slice(0, 200)}: ${NUL_MESSAGE}`));
    const type = (msg as { type?: unknown }).type;
    if (type !== 'subscribe') {
      const t = typeof type === 'string' ? `"${type.slice(0, 64)}"` : 'missing';
      return this.reply(c, errorFrame('UNKNOWN_TYPE', `message type ${t} is not known; the client sends {"type":"subscribe","hosts":[...]}`));
    }
    const hosts = (msg as { hosts?: unknown }).hosts;
    if (!Array.isArray(hosts) || hosts.length > MAX_SUBSCRIBE_HOSTS || !hosts.every((h) => typeof h === 'string' && h.length > 0 && h.length <= 253)) {
      return this.reply(c, errorFrame('VALIDATION_FAILED', `hosts: must be an array of at most ${MAX_SUBSCRIBE_HOSTS} host names (1 to 253 characters), or ["*"] for every host`));
    }
    const names = [...new Set(hosts as string[])];
    const all = names.includes('*');
    // LISTEN first, then the starting points: nothing written in between can be missed.
    if (!this.listener) await this.connect();
    c.all = all;
    c.hosts = all ? new Set() : new Set(names);
    // The newest snapshot of each newly watched host is where the stream starts: everything
    // written after the acknowledgement is sent, nothing before it. ("*": the hosts there are
    // now; a host that appears later starts with its first notification's newest snapshot.)
    const watched = all ? [...(await hostIdsByName(this.deps.pool, 'all')).keys()] : names;
    await Promise.all(watched.filter((h) => !this.hostStates.get(h)?.known).map((h) => this.startingPoint(h)));
    this.forgetUnsubscribed();
    this.reply(c, JSON.stringify({ type: 'subscribed', hosts: all ? ['*'] : names }));
  }

  private async startingPoint(host: string): Promise<void> {
    const st = this.stateOf(host);
    // Behind a run in progress (which may itself be a starting point).
    while (st.busy) await st.idle;
    if (st.known) return;
    st.busy = true;
    st.idle = new Promise<void>((resolve) => {
      st.resolveIdle = resolve;
    });
    try {
      const rows = await newestSnapshots(this.deps.pool, host, null, 1);
      st.known = true;
      st.last = rows[0] ?? null;
      st.lastTs = rows[0]?.ts ?? null;
    } finally {
      st.busy = false;
      st.resolveIdle();
      if (st.dirty) void this.pump(host);
    }
  }

  /** Drops the state of hosts nobody watches any more (a "*" subscriber watches all). */
  private forgetUnsubscribed(): void {
    if ([...this.clients].some((c) => c.all && !c.closing)) return;
    for (const [h, st] of this.hostStates) if (!st.busy && !this.isSubscribed(h)) this.hostStates.delete(h);
  }

  /** Closes every client (1001) and the LISTEN connection; detaches from the servers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearInterval(this.revalidate);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.linger) clearTimeout(this.linger);
    for (const { server, onUpgrade } of this.servers) server.removeListener('upgrade', onUpgrade);
    const gone = [...this.clients].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.closing = true;
          c.ws.close(CLOSE.goingAway, 'the api is shutting down');
          setTimeout(() => c.ws.terminate(), 1000).unref();
        }),
    );
    await Promise.all(gone);
    await this.connecting?.catch(() => undefined);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
    this.wss.close();
  }
}
