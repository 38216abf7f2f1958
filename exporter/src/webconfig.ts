/**
 * PERFWATCH_WEB_CONFIG_FILE: exporter-toolkit's web configuration file, the one node_exporter reads
 * with --web.config.file (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md),
 * so an existing node_exporter web config works unchanged: TLS (certificate and key, client CA for
 * mutual TLS, client_auth_type, TLS version bounds), bcrypt basic-auth users and extra response
 * headers. Unknown keys are refused, as exporter-toolkit refuses them; relative file names are
 * relative to the config file's directory.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { TLSSocket } from 'node:tls';
import type { SecureVersion, TlsOptions } from 'node:tls';
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigError } from './errors.js';

// yaml and bcryptjs load only where a web config is used (parsed; with users): an exporter
// without one (the default) does not hold them (~4 MB of its resident memory, #13).
const require = createRequire(import.meta.url);
let yamlModule: typeof import('yaml') | undefined;
let bcryptModule: typeof import('bcryptjs') | undefined;
const yaml = () => (yamlModule ??= require('yaml') as typeof import('yaml'));
const bcrypt = () => (bcryptModule ??= require('bcryptjs') as typeof import('bcryptjs'));

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
type ClientAuth = (typeof CLIENT_AUTH_TYPES)[number];
const VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

export interface WebConfig {
  /** https.createServer options; undefined: plain HTTP. */
  tls?: TlsOptions;
  /** client_auth_type, when TLS is on. */
  clientAuth?: ClientAuth;
  /** client_allowed_sans: a verified client certificate must carry one of these SANs. */
  allowedSans?: string[];
  /** user -> bcrypt hash; empty: no authentication. */
  users: Map<string, string>;
  /** headers added to every response (http_server_config.headers). */
  headers: Record<string, string>;
}

/** A ConfigError naming the variable and the file, so main.ts exits with it like any bad setting. */
class WebConfigError extends ConfigError {
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('PERFWATCH_WEB_CONFIG_FILE', `${file}: ${message}`);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

const TOP = new Set(['tls_server_config', 'http_server_config', 'basic_auth_users']);
const TLS_KEYS = new Set(['cert_file', 'key_file', 'cert', 'key', 'client_auth_type', 'client_ca_file', 'client_ca', 'cipher_suites', 'curve_preferences', 'min_version', 'max_version', 'prefer_server_cipher_suites', 'client_allowed_sans']);
const HTTP_KEYS = new Set(['http2', 'headers']);

function object(v: unknown, file: string, where: string): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new WebConfigError(file, `${where} must be a mapping`);
  return v as Record<string, unknown>;
}

function strict(o: Record<string, unknown>, allowed: Set<string>, file: string, where: string): void {
  const unknown = Object.keys(o).filter((k) => !allowed.has(k));
  if (unknown.length) throw new WebConfigError(file, `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} in ${where} (keys: ${[...allowed].join(', ')})`);
}

function str(v: unknown, file: string, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new WebConfigError(file, `${where} must be a string`);
  return v;
}

/** Parses the file's text; `file` resolves relative paths and names the file in errors. */
export function parseWebConfig(text: string, file: string, read: (path: string) => Buffer = (p) => readFileSync(p)): WebConfig {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    throw new WebConfigError(file, `not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const top = object(doc, file, 'the file');
  strict(top, TOP, file, 'the file');
  const load = (path: string, what: string): Buffer => {
    const full = isAbsolute(path) ? path : join(dirname(file), path);
    try {
      return read(full);
    } catch (err) {
      throw new WebConfigError(file, `cannot read ${what} ${full}: ${(err as Error).message}`, { cause: err });
    }
  };

  const cfg: WebConfig = { users: new Map(), headers: {} };
  const tlsIn = object(top.tls_server_config, file, 'tls_server_config');
  strict(tlsIn, TLS_KEYS, file, 'tls_server_config');
  if (Object.keys(tlsIn).length) {
    const certFile = str(tlsIn.cert_file, file, 'cert_file');
    const keyFile = str(tlsIn.key_file, file, 'key_file');
    const certPem = str(tlsIn.cert, file, 'cert');
    const keyPem = str(tlsIn.key, file, 'key');
    if (!(certFile || certPem) || !(keyFile || keyPem)) throw new WebConfigError(file, 'tls_server_config needs cert_file (or cert) and key_file (or key)');
    const auth = (str(tlsIn.client_auth_type, file, 'client_auth_type') ?? 'NoClientCert') as ClientAuth;
    if (!CLIENT_AUTH_TYPES.includes(auth)) throw new WebConfigError(file, `client_auth_type "${auth}" is not one of ${CLIENT_AUTH_TYPES.join(', ')}`);
    const caFile = str(tlsIn.client_ca_file, file, 'client_ca_file');
    const caPem = str(tlsIn.client_ca, file, 'client_ca');
    const verify = auth === 'VerifyClientCertIfGiven' || auth === 'RequireAndVerifyClientCert';
    if (verify && !caFile && !caPem) throw new WebConfigError(file, `client_auth_type ${auth} needs client_ca_file`);
    const tls: TlsOptions = {
      cert: certPem ?? load(certFile!, 'cert_file'),
      key: keyPem ?? load(keyFile!, 'key_file'),
      // Node verifies a client certificate it asks for against `ca` unless told not to: the
      // Go names map onto requestCert (ask) and rejectUnauthorized (require a verified one).
      requestCert: auth !== 'NoClientCert',
      rejectUnauthorized: auth === 'RequireAndVerifyClientCert',
    };
    if (caFile || caPem) tls.ca = caPem ?? load(caFile!, 'client_ca_file');
    for (const [k, opt] of [['min_version', 'minVersion'], ['max_version', 'maxVersion']] as const) {
      const v = str(tlsIn[k], file, k);
      if (v === undefined) continue;
      if (!VERSIONS[v]) throw new WebConfigError(file, `${k} "${v}" is not one of ${Object.keys(VERSIONS).join(', ')}`);
      tls[opt] = VERSIONS[v];
    }
    // exporter-toolkit's default floor
    tls.minVersion ??= 'TLSv1.2';
    cfg.tls = tls;
    cfg.clientAuth = auth;
    const sans = tlsIn.client_allowed_sans;
    if (sans !== undefined && sans !== null) {
      if (!Array.isArray(sans) || sans.some((x) => typeof x !== 'string')) throw new WebConfigError(file, 'client_allowed_sans must be a list of names');
      if (!verify) throw new WebConfigError(file, 'client_allowed_sans needs a verifying client_auth_type (RequireAndVerifyClientCert, VerifyClientCertIfGiven)');
      cfg.allowedSans = sans as string[];
    }
  }
  const httpIn = object(top.http_server_config, file, 'http_server_config');
  strict(httpIn, HTTP_KEYS, file, 'http_server_config');
  for (const [k, v] of Object.entries(object(httpIn.headers, file, 'http_server_config.headers'))) cfg.headers[k] = String(v);
  for (const [user, hash] of Object.entries(object(top.basic_auth_users, file, 'basic_auth_users'))) {
    if (typeof hash !== 'string' || !/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) throw new WebConfigError(file, `basic_auth_users.${user} must be a bcrypt hash ($2y$10$...), as htpasswd -nBC 10 writes it`);
    cfg.users.set(user, hash.replace(/^\$2y\$/, () => '$2b$')); // htpasswd's 2y is bcrypt's 2b
  }
  return cfg;
}

export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WebConfigError(file, `cannot read it: ${(err as Error).message}`, { cause: err });
  }
  return parseWebConfig(text, file);
}

/**
 * Basic-auth checks. bcrypt is slow on purpose (tens of ms at cost 10 in plain JS), too slow for
 * every scrape, so a success is remembered by a salted digest of the credentials, as
 * exporter-toolkit does: the next scrape with the same header costs a hash, not a bcrypt.
 */
export class BasicAuth {
  private readonly good = new Map<string, Buffer>();
  private readonly salt = randomBytes(32);
  /** compared against for an unknown user, so that costs what a wrong password does. */
  private readonly decoy: string;

  constructor(private readonly users: Map<string, string>) {
    this.decoy = users.size ? bcrypt().hashSync(randomBytes(12).toString('hex'), 10) : '';
  }

  get enabled(): boolean {
    return this.users.size > 0;
  }

  /** true when the request's Authorization header names a configured user with the right password. */
  async check(req: IncomingMessage): Promise<boolean> {
    if (!this.enabled) return true;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.users.get(user);
    if (hash === undefined) {
      // spend the same time as a wrong password, so a user name cannot be probed by timing
      await bcrypt().compare(password, this.decoy);
      return false;
    }
    const digest = createHash('sha256').update(this.salt).update(user).update('\u0000').update(password).update('\u0000').update(hash).digest();
    const known = this.good.get(user);
    if (known && timingSafeEqual(known, digest)) return true;
    if (!(await bcrypt().compare(password, hash))) return false;
    this.good.set(user, digest);
    return true;
  }
}

/**
 * What client_auth_type asks of a request's certificate beyond what Node's TLS layer enforced
 * (RequireAndVerifyClientCert is rejected in the handshake already).
 */
export function clientCertAllowed(web: Pick<WebConfig, 'clientAuth' | 'allowedSans'> | undefined, req: IncomingMessage): boolean {
  const auth = web?.clientAuth;
  if (auth === undefined || auth === 'NoClientCert' || auth === 'RequestClientCert') return true;
  const socket = req.socket as TLSSocket;
  const peer = socket.getPeerCertificate?.();
  const given = !!peer && Object.keys(peer).length > 0;
  if (auth === 'RequireAnyClientCert') return given;
  if (auth === 'VerifyClientCertIfGiven' && !given) return true;
  if (!socket.authorized) return false;
  if (!web?.allowedSans) return true;
  // "DNS:prometheus, IP Address:192.0.2.7, URI:spiffe://..., email:..."
  const sans = (peer?.subjectaltname ?? '').split(/,\s*/).map((e) => e.slice(e.indexOf(':') + 1));
  return web.allowedSans.some((want) => sans.includes(want));
}
