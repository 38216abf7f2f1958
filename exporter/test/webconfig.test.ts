/**
 * PERFWATCH_WEB_CONFIG_FILE, exporter-toolkit's format: the parser's refusals, then the exporter
 * served over TLS with basic auth and with mutual TLS, asked by real TLS clients (Node's https and
 * curl): the right password (200), a wrong one (401), none (401), plain HTTP to the TLS port (no
 * answer but a closed connection), and client certificates signed by the CA or not.
 */
import bcrypt from 'bcryptjs';
import { expect } from 'chai';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../src/app.js';
import { COLLECTORS } from '../src/collectors/registry.js';
import { parseWebConfig } from '../src/webconfig.js';
import { quietLogger, testConfig } from './helpers.js';

const execFileAsync = promisify(execFile);
const DIR = mkdtempSync(join(tmpdir(), 'pw-webconfig-'));
const f = (name: string) => join(DIR, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 it signed, a client certificate it signed, and a rogue self-signed one. */
function makeCertificates(): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=perfwatch test CA');
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('san.ext'));
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=prometheus');
  openssl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.crt'), '-days', '2');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('rogue.key'), '-out', f('rogue.crt'), '-days', '2', '-subj', '/CN=rogue');
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, opts: { auth?: string; ca?: boolean; cert?: 'client' | 'rogue' } = {}): Promise<Answer> {
  const u = new URL(url);
  const https = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      {
        host: u.hostname, port: u.port, path: u.pathname, method: 'GET',
        headers: opts.auth ? { authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` } : {},
        ...(https ? { ca: opts.ca === false ? undefined : readFileSync(f('ca.crt')), ...(opts.cert ? { cert: readFileSync(f(`${opts.cert}.crt`)), key: readFileSync(f(`${opts.cert}.key`)) } : {}) } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function start(webConfig: string): Promise<Exporter> {
  writeFileSync(f('web.yml'), webConfig);
  return startExporter(testConfig({ PERFWATCH_WEB_CONFIG_FILE: f('web.yml') }, 'small'), quietLogger(), {
    collectors: COLLECTORS.filter((c) => c.name === 'loadavg'),
    processMetrics: false,
  });
}

describe('PERFWATCH_WEB_CONFIG_FILE (exporter-toolkit web config)', function () {
  this.timeout(60_000);
  const hash = bcrypt.hashSync('s3cret', 4).replace(/^\$2b\$/, () => '$2y$'); // as htpasswd -nB writes it

  before(function () {
    if (spawnSync('openssl', ['version']).error) return this.skip();
    makeCertificates();
  });
  after(() => rmSync(DIR, { recursive: true, force: true }));

  describe('parsing', () => {
    const read = () => Buffer.from('pem');
    const parse = (text: string) => parseWebConfig(text, '/etc/perfwatch/web.yml', read);
    it('an empty file is plain HTTP without auth', () => {
      expect(parse('')).to.deep.equal({ users: new Map(), headers: {} });
    });
    it('relative certificate paths are relative to the file; exporter-toolkit\'s TLS 1.2 floor', () => {
      const seen: string[] = [];
      const cfg = parseWebConfig('tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /abs/server.key\n', '/etc/perfwatch/web.yml', (p) => (seen.push(p), Buffer.from('x')));
      expect(seen).to.deep.equal(['/etc/perfwatch/tls/server.crt', '/abs/server.key']);
      expect(cfg.tls).to.include({ minVersion: 'TLSv1.2', requestCert: false });
    });
    for (const [name, text, message] of [
      ['an unknown key (exporter-toolkit is strict)', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n', 'unknown key "certfile"'],
      ['an unknown top-level key', 'basic_auth:\n  a: b\n', 'unknown key "basic_auth"'],
      ['a certificate without its key', 'tls_server_config:\n  cert_file: a\n', 'needs cert_file (or cert) and key_file'],
      ['a wrong client_auth_type', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Required\n', '"Required" is not one of'],
      ['verification without a CA', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n', 'needs client_ca_file'],
      ['a plain-text password', 'basic_auth_users:\n  alice: s3cret\n', 'must be a bcrypt hash'],
      ['a wrong min_version', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS1.2\n', 'min_version "TLS1.2"'],
      ['not YAML', 'tls_server_config: [\n', 'not valid YAML'],
    ] as const) {
      it(`refuses ${name}, naming the variable and the file`, () => {
        expect(() => parse(text)).to.throw(/^PERFWATCH_WEB_CONFIG_FILE: \/etc\/perfwatch\/web\.yml: /).with.property('message').that.contains(message);
      });
    }
  });

  describe('TLS and basic auth', () => {
    let exporter: Exporter;
    before(async () => {
      exporter = await start(`tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  alice: ${hash}\n`);
    });
    after(async () => exporter?.close());

    it('serves /metrics over TLS to the right user, twice (the second from the cache)', async () => {
      expect(exporter.url).to.match(/^https:\/\//);
      for (let i = 0; i < 2; i++) {
        const r = await get(`${exporter.url}/metrics`, { auth: 'alice:s3cret' });
        expect(r.status).to.equal(200);
        expect(r.body).to.include('perfwatch_load_average_1m');
        expect(r.headers['x-frame-options']).to.equal('deny');
      }
    });

    it('a wrong password, an unknown user and no credentials get 401 with a Basic challenge', async () => {
      for (const auth of ['alice:wrong', 'mallory:s3cret', undefined]) {
        const r = await get(`${exporter.url}/metrics`, auth ? { auth } : {});
        expect(r.status, String(auth)).to.equal(401);
        expect(r.headers['www-authenticate']).to.match(/^Basic /);
        expect(r.body).to.not.include('perfwatch_');
      }
    });

    it('a plain-HTTP request to the TLS port gets no metrics, only a closed connection', async () => {
      const port = new URL(exporter.url).port;
      let answer: Answer | undefined;
      let error: unknown;
      try {
        answer = await get(`http://127.0.0.1:${port}/metrics`, { auth: 'alice:s3cret' });
      } catch (err) {
        error = err;
      }
      if (answer) expect(answer.body).to.not.include('perfwatch_');
      else expect(error).to.be.instanceOf(Error);
    });

    it('a client that does not trust the certificate stops at the handshake', async () => {
      let error: unknown;
      await get(`${exporter.url}/metrics`, { auth: 'alice:s3cret', ca: false }).catch((err) => (error = err));
      expect((error as NodeJS.ErrnoException)?.code).to.match(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    });

    it('curl, another TLS client, gets the same answers', async function () {
      if (spawnSync('curl', ['--version']).error) return this.skip();
      const url = `${exporter.url}/metrics`;
      // asynchronously: the exporter answering curl runs in this process
      const code = async (user: string) => (await execFileAsync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '--cacert', f('ca.crt'), '-u', user, url], { encoding: 'utf8' })).stdout;
      expect(await code('alice:s3cret')).to.equal('200');
      expect(await code('alice:nope')).to.equal('401');
    });
  });

  describe('mutual TLS (RequireAndVerifyClientCert)', () => {
    let exporter: Exporter;
    before(async () => {
      exporter = await start('tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n');
    });
    after(async () => exporter?.close());

    it('a client certificate the CA signed is let in', async () => {
      const r = await get(`${exporter.url}/metrics`, { cert: 'client' });
      expect(r.status).to.equal(200);
    });

    it('client_allowed_sans: a signed certificate without one of the names gets 403', async () => {
      await exporter.close();
      exporter = await start('tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus.example.com]\n');
      const r = await get(`${exporter.url}/metrics`, { cert: 'client' });
      expect(r.status).to.equal(403);
      expect(r.body).to.not.include('perfwatch_');
    });

    it('no client certificate, or one the CA did not sign, is refused', async () => {
      for (const cert of [undefined, 'rogue'] as const) {
        let answer: Answer | undefined;
        try {
          answer = await get(`${exporter.url}/metrics`, cert ? { cert } : {});
        } catch {
          // the handshake (TLS 1.2) or the first read (TLS 1.3) fails
        }
        expect(answer?.status, String(cert)).to.equal(undefined);
      }
    });
  });
});
