/**
 * How the api serves the admin UI on PERFWATCH_UI_PORT: the built files with their own CSP in
 * front of the same express app (so /api answers there too, same-origin with the page), the
 * configuration of that port, and the bundle budget. The UI itself: admin-e2e.test.ts.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUDGET_BYTES, ensureAdminUi } from '../admin/build.mjs';
import { DEFAULTS, loadConfig } from '../src/config.js';
import { UI_CSP } from '../src/ui.js';
import { ADMIN, call, startTestApi, type TestApi } from './helpers.js';

const DB = { DATABASE_URL: 'postgres://u:p@localhost:5432/perfwatch' };

describe('admin UI serving', function () {
  this.timeout(120_000);

  describe('configuration', () => {
    it('PERFWATCH_UI_PORT: 3000 by default, off for none, a port, checked', () => {
      expect(loadConfig(DB).uiPort).to.equal(3000);
      expect(DEFAULTS.uiPort).to.equal(3000);
      expect(loadConfig({ ...DB, PERFWATCH_UI_PORT: 'off' }).uiPort).to.equal(undefined);
      expect(loadConfig({ ...DB, PERFWATCH_UI_PORT: '0' }).uiPort).to.equal(0);
      expect(loadConfig({ ...DB, PERFWATCH_UI_PORT: '3300' }).uiPort).to.equal(3300);
      expect(() => loadConfig({ ...DB, PERFWATCH_UI_PORT: '70000' })).to.throw(/PERFWATCH_UI_PORT: "70000" is not a port from 0 to 65535 or off/);
      expect(() => loadConfig({ ...DB, PERFWATCH_UI_PORT: 'http' })).to.throw(/PERFWATCH_UI_PORT/);
      expect(() => loadConfig({ ...DB, PERFWATCH_UI_PORT: '8000' })).to.throw(/PERFWATCH_UI_PORT: 8000 is also PERFWATCH_API_PORT/);
      expect(loadConfig({ ...DB, PERFWATCH_UI_PORT: '0', PERFWATCH_API_PORT: '0' }).uiPort).to.equal(0);
    });

    it('PERFWATCH_UI_HOST: the api host unless set', () => {
      expect(loadConfig(DB).uiHost).to.equal('0.0.0.0');
      expect(loadConfig({ ...DB, PERFWATCH_API_HOST: '127.0.0.1' }).uiHost).to.equal('127.0.0.1');
      expect(loadConfig({ ...DB, PERFWATCH_API_HOST: '127.0.0.1', PERFWATCH_UI_HOST: '::1' }).uiHost).to.equal('::1');
    });
  });

  describe('the UI port', () => {
    let t: TestApi;
    let ui: string;

    before(async () => {
      ensureAdminUi({ quiet: true });
      t = await startTestApi({ env: { PERFWATCH_UI_PORT: '0' }, start: { serveUi: true } });
      ui = t.api.uiUrl!;
    });

    it('keeps the JS within its budget (100 KB gzipped)', () => {
      const { size } = ensureAdminUi({ quiet: true });
      expect(size.files.length).to.be.greaterThan(0);
      expect(size.jsGzipBytes).to.be.at.most(BUDGET_BYTES);
    });

    it('serves the page with a CSP of its own, revalidated; hashed assets for a year', async () => {
      const page = await fetch(`${ui}/`);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      expect(page.headers.get('content-security-policy')).to.equal(UI_CSP);
      expect(page.headers.get('cache-control')).to.equal('no-cache');
      expect(page.headers.get('x-frame-options')).to.equal('DENY');
      expect(page.headers.get('x-content-type-options')).to.equal('nosniff');
      const html = await page.text();
      expect(html).to.include('<pw-app>');
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, html).to.be.a('string');
      const js = await fetch(`${ui}${script}`);
      expect(js.status).to.equal(200);
      expect(js.headers.get('content-type')).to.match(/javascript/);
      expect(js.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
      // The api port does not serve the UI.
      expect((await fetch(`${t.url}/`)).status).to.equal(404);
    });

    it('answers the api on the same origin: login sets the session cookie, /api/v1/me reads it', async () => {
      const login = await call(ui, 'POST', '/api/v1/auth/login', { body: { ...ADMIN, cookie: true }, headers: { origin: ui } });
      expect(login.status).to.equal(200);
      const cookies = login.headers.getSetCookie();
      expect(cookies.some((c) => /^pw_session=.*HttpOnly/i.test(c) && /SameSite=Strict/i.test(c))).to.equal(true);
      const jar = cookies.map((c) => c.split(';')[0]).join('; ');
      const me = await call(ui, 'GET', '/api/v1/me', { headers: { cookie: jar } });
      expect(me.status).to.equal(200);
      expect(me.body.username).to.equal(ADMIN.username);
      // API answers keep the api's headers (no-store, CSP none).
      expect(me.headers.get('cache-control')).to.equal('no-store');
      expect(me.headers.get('content-security-policy')).to.match(/^default-src 'none'/);
    });

    it('leaves everything else to the api: unknown paths and old assets are its JSON 404, POST / too', async () => {
      for (const [method, path] of [
        ['GET', '/nope'],
        ['GET', '/assets/index-gone.js'],
        ['POST', '/'],
        ['GET', '/../package.json'],
      ] as const) {
        const r = await call(ui, method, path, method === 'POST' ? { body: {} } : {});
        expect(r.status, `${method} ${path}`).to.equal(404);
        expect(r.body.error.code, `${method} ${path}`).to.equal('NOT_FOUND');
      }
      const dot = await fetch(`${ui}/assets/.hidden`);
      expect(dot.status).to.equal(404);
    });

    it('says how to build the UI when it is not built', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'pw-ui-'));
      try {
        const bare = await startTestApi({ env: { PERFWATCH_UI_PORT: '0' }, start: { serveUi: true, uiDir: empty } });
        const r = await fetch(`${bare.api.uiUrl}/`);
        expect(r.status).to.equal(503);
        expect(await r.text()).to.include('npm run build');
        expect((await call(bare.api.uiUrl!, 'GET', '/health')).status).to.equal(200);
        await bare.close();
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });

    it('does not start when the UI port is taken, and says which variable to change', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const port = (blocker.address() as { port: number }).port;
      try {
        let err: unknown;
        await startTestApi({ env: { PERFWATCH_UI_PORT: String(port) }, start: { serveUi: true } }).catch((e: unknown) => (err = e));
        expect(String((err as Error)?.message)).to.match(new RegExp(`the admin UI cannot listen on 127\\.0\\.0\\.1:${port} .*EADDRINUSE.*set PERFWATCH_UI_PORT to a free port, or to off`));
      } finally {
        blocker.close();
      }
    });

    it('without serveUi (every other test api), no UI listener', async () => {
      const plain = await startTestApi();
      expect(plain.api.uiUrl).to.equal(undefined);
      await plain.close();
    });
  });
});
