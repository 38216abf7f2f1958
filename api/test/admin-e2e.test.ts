/**
 * The admin console end to end: the built UI (api/admin/dist, rebuilt here when stale by the
 * same ensureAdminUi as npm start) served by a real api on its UI port, a real PostgreSQL schema,
 * driven in headless Debian Chromium through playwright-core. Each screen is saved at laptop and
 * phone width under test-artifacts/admin/ (not committed) for people to look at.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureAdminUi } from '../admin/build.mjs';
import { insertSnapshots } from '@perfwatch/store';
import { fixtureSnapshot, HostSim, simulate } from '../../store/test/synth.js';
import { ADMIN, call, createUser, login, startTestApi, type TestApi } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/admin/', import.meta.url));
const VIEWPORTS = { laptop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Installs Debian's chromium when it is missing and we may (root with apt-get); the reason it is still missing otherwise. */
function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (process.getuid?.() !== 0 || !hasApt) return `${CHROMIUM} is missing and this is not root with apt-get: install Debian's chromium (apt-get install chromium)`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '--no-install-recommends', 'chromium'];
  if (spawnSync('apt-get', args, { stdio: 'inherit', env }).status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    spawnSync('apt-get', args, { stdio: 'inherit', env });
  }
  return existsSync(CHROMIUM) ? undefined : `apt-get install chromium did not provide ${CHROMIUM}`;
}

interface Tab {
  context: BrowserContext;
  page: Page;
  /** JavaScript errors and CSP violations seen by the page. */
  problems: string[];
  /** every request the page made, as "METHOD path". */
  requests: string[];
  /** every answer it got, as "STATUS METHOD path". */
  responses: string[];
}

describe('admin UI, end to end in headless Chromium', function () {
  this.timeout(60_000);

  let browser: Browser | undefined;
  let t: TestApi;
  let ui: string;
  const tabs: Tab[] = [];

  before(async function () {
    this.timeout(240_000);
    const missing = chromiumMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    ensureAdminUi({ quiet: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestApi({ env: { PERFWATCH_UI_PORT: '0' }, start: { serveUi: true, jobs: true } });
    ui = t.api.uiUrl!;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  after(async () => {
    await browser?.close();
    await t?.close();
    await t?.db.query(`DROP SCHEMA IF EXISTS "${t.schema}_boss" CASCADE`).catch(() => undefined);
  });

  afterEach(async function () {
    const problems = tabs.flatMap((x) => x.problems);
    for (const x of tabs.splice(0)) await x.context.close().catch(() => undefined);
    if (this.currentTest?.state === 'passed') expect(problems, 'page errors / CSP violations').to.deep.equal([]);
  });

  async function open(base = ui): Promise<Tab> {
    const context = await browser!.newContext({ viewport: VIEWPORTS.laptop, baseURL: base });
    const page = await context.newPage();
    const tab: Tab = { context, page, problems: [], requests: [], responses: [] };
    page.on('pageerror', (e) => tab.problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // Chromium logs every 4xx answer ("Failed to load resource"); those are expected (a 401 before login).
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) tab.problems.push(`console: ${m.text()}`);
    });
    page.on('request', (r) => tab.requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    page.on('response', (r) => tab.responses.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`));
    tabs.push(tab);
    return tab;
  }

  /** Saves the page at laptop and phone width: test-artifacts/admin/<name>-{laptop,phone}.png */
  async function shoot(page: Page, name: string): Promise<void> {
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(150);
      await page.screenshot({ path: `${ARTIFACTS}${name}-${size}.png`, fullPage: true, animations: 'disabled' });
      // Readable at that width: nothing sticks out sideways.
      expect(await page.evaluate('document.documentElement.scrollWidth'), `${name} at ${size} width`).to.be.at.most(viewport.width);
    }
    await page.setViewportSize(VIEWPORTS.laptop);
  }

  async function logIn(page: Page, username: string, password: string): Promise<void> {
    await page.goto('/');
    await page.getByLabel('User name').fill(username);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name });
  const navTo = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

  it('serves the built UI on the UI port and logs in with the keyboard alone', async () => {
    const { page } = await open();
    const res = await page.goto('/');
    expect(res?.status()).to.equal(200);
    expect(res?.headers()['content-security-policy']).to.include("script-src 'self'");
    await heading(page, 'Log in').waitFor();
    // The user name field has focus: type, Tab to the password, Enter submits.
    await page.keyboard.type(ADMIN.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not-the-password');
    await page.keyboard.press('Enter');
    // The API's own message, not "Error".
    await page.getByRole('alert').filter({ hasText: 'Invalid username or password' }).waitFor();
    await shoot(page, 'login-failed');

    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.keyboard.press('Enter');
    await heading(page, 'Status').waitFor();
    await page.getByText('Answering').waitFor();
    await page.getByText('Ready', { exact: true }).waitFor();
    await page.getByText(/^version \d+$/).waitFor();
    // No exporter has written to this schema yet: the hosts table says so and shows no chart.
    await page.getByText('No host has written history yet.').waitFor();
    expect(await page.locator('pw-live-chart').count()).to.equal(0);
    for (const link of ['Status', 'Users', 'API tokens', 'Retention', 'Account']) {
      expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).count(), link).to.equal(1);
    }
    await page.getByText(process.versions.node, { exact: true }).waitFor();
    await shoot(page, 'status-empty');

    // Logging out ends the session (the API refuses its cookie) and says so.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have logged out.').waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
    expect(me).to.equal(401);
    await shoot(page, 'login-logged-out');
  });

  it('status: hosts fresh and stale, collector failures, perf reasons, database size; the live chart gets each new snapshot', async function () {
    this.timeout(90_000);
    const now = Date.now();
    // web-1 reports every 5 s; its newest snapshot has a failed collector and perf without a PMU.
    const sim = new HostSim(fixtureSnapshot('small'), 'web-1');
    const fresh = [now - 10_000, now - 5_000, now].map((ts) => sim.next(ts));
    const newest = fresh[2]!;
    newest.col.diskstats = { ok: false, s: 0.0021, err: '/proc/diskstats: permission denied' };
    newest.perf = {
      ev: ['cpu-cycles', 'instructions', 'task-clock', 'context-switches'],
      c: { '0': [null, null, 5, 120], '1': [null, null, 5, 97] },
      r: { '0': [null, null, 1, 1], '1': [null, null, 1, 1] },
      un: { 'cpu-cycles': 'not supported', instructions: 'not supported' },
    };
    // db-old stopped writing 20 minutes ago.
    await insertSnapshots(t.db, [...fresh, ...simulate(fixtureSnapshot('small'), 'db-old', now - 1_210_000, 2, { seed: 2 })]);

    const { page } = await open();
    await logIn(page, ADMIN.username, ADMIN.password);
    await heading(page, 'Status').waitFor();
    const web = page.locator('tr[data-host="web-1"]');
    const old = page.locator('tr[data-host="db-old"]');
    await web.waitFor();
    await old.getByText('stale', { exact: true }).waitFor();
    expect(await web.getByText('stale', { exact: true }).count()).to.equal(0);
    expect(await old.locator('.age').innerText()).to.match(/^2[01] min ago$/);
    // Red: the stale host's age is in the danger colour, the fresh one's is not.
    const colour = (l: typeof web) => l.locator('.age').evaluate((e) => (globalThis as unknown as { getComputedStyle(el: unknown): { color: string } }).getComputedStyle(e).color);
    expect(await colour(old)).to.equal('rgb(180, 35, 24)');
    expect(await colour(web)).to.not.equal('rgb(180, 35, 24)');
    // Collector health, from the newest snapshot.
    const collectors = Object.keys(newest.col).length;
    await web.getByText(`1 of ${collectors} failed`).waitFor();
    await web.locator('[data-collector="diskstats"]').getByText('failed: /proc/diskstats: permission denied').waitFor();
    await old.getByText(`All ${collectors} OK`).waitFor();
    // Perf events counted, and why the others are not.
    await web.getByText('2 of 4 counted').waitFor();
    await web.locator('[data-reason="not supported"]').getByText('cpu-cycles, instructions').waitFor();
    await old.getByText('perf collector not running').waitFor();
    expect(await page.locator('[data-db-size]').innerText()).to.match(/^\d+(\.\d+)? (MB|GB)$/);
    await page.locator('[data-tier="raw"]').getByText('5 rows').waitFor();

    // The live chart: web-1 is chosen (it reports), no PMU there, so IPC says why instead of a line.
    const chart = page.locator('pw-live-chart');
    expect(await page.getByLabel('Host', { exact: true }).inputValue()).to.equal('web-1');
    await chart.getByText('IPC unavailable: instructions: not supported').waitFor();
    await page.locator('pw-live-chart[data-state="open"]').waitFor();
    // It starts with the last minutes from history (POST /api/v1/query): the seeded snapshots.
    await page.locator('pw-live-chart[data-backfill="done"]').waitFor();
    const n0 = Number(await chart.getAttribute('data-points'));
    expect(n0).to.be.within(1, 3);

    // Snapshots written now (the same host going on) reach the open page through the WebSocket, one point each.
    for (let i = 1; i <= 3; i++) {
      const snap = sim.next(Date.now());
      snap.perf = newest.perf;
      await insertSnapshots(t.db, [snap]);
      await page.locator(`pw-live-chart[data-points="${n0 + i}"]`).waitFor({ timeout: 15_000 });
    }
    // Each is computed against the one before (the first against the seeded newest): a utilisation.
    await chart.getByText(/CPU utilisation \d+\.\d %/).waitFor();
    expect(await chart.locator('canvas').count()).to.equal(1);
    await shoot(page, 'status');

    // Another host: the chart starts over for it; db-old wrote nothing in the last 10 minutes.
    await page.getByLabel('Host', { exact: true }).selectOption('db-old');
    await chart.getByText('IPC unavailable: the perf collector does not run on this host').waitFor();
    await page.locator('pw-live-chart[data-backfill="done"][data-points="0"]').waitFor();
    await chart.getByText('No snapshot of db-old in the last 10 minutes; waiting for the next…').waitFor();
    await shoot(page, 'status-waiting');
  });

  it('creates a user with a temporary password; they log in, must change it, and get the viewer screens', async () => {
    const admin = await open();
    await logIn(admin.page, ADMIN.username, ADMIN.password);
    await navTo(admin.page, 'Users');
    await heading(admin.page, 'Users').waitFor();
    await admin.page.getByRole('button', { name: 'Add user' }).click();
    // Checked before sending: nothing goes to the api with a bad name or a short password.
    const posts = () => admin.requests.filter((r) => r === 'POST /api/v1/users').length;
    await admin.page.getByLabel('User name').fill('bad name!');
    await admin.page.getByLabel('Password', { exact: true }).fill('short');
    await admin.page.getByRole('button', { name: 'Create user' }).click();
    await admin.page.getByText('Use 1 to 64 letters').waitFor();
    await admin.page.getByText('Use at least 12 characters').waitFor();
    expect(posts()).to.equal(0);
    await shoot(admin.page, 'users-create-invalid');

    await admin.page.getByLabel('User name').fill('carol');
    await admin.page.getByLabel('Password', { exact: true }).fill('temporary-password-1');
    await admin.page.getByRole('button', { name: 'Create user' }).click();
    await admin.page.getByText('User “carol” created as a viewer').waitFor();
    const row = admin.page.locator('tr[data-user="carol"]');
    await row.getByText('Password change due').waitFor();
    await row.getByText('never').waitFor();
    expect(posts()).to.equal(1);
    await shoot(admin.page, 'users');

    const carol = await open();
    await logIn(carol.page, 'carol', 'temporary-password-1');
    await heading(carol.page, 'Choose a new password').waitFor();
    await shoot(carol.page, 'password-forced');
    await carol.page.getByLabel('Current (temporary) password').fill('temporary-password-1');
    await carol.page.getByLabel('New password', { exact: true }).fill('carols-own-password-2');
    await carol.page.getByLabel('New password again').fill('carols-own-password-2x');
    await carol.page.getByRole('button', { name: 'Change password' }).click();
    await carol.page.getByText('The two new passwords are not the same.').waitFor();
    await carol.page.getByLabel('New password again').fill('carols-own-password-2');
    await carol.page.getByRole('button', { name: 'Change password' }).click();
    await heading(carol.page, 'Status').waitFor();
    await carol.page.getByText('Your new password is set').waitFor();
    const nav = carol.page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allInnerTexts()).to.deep.equal(['Status', 'API tokens', 'Account']);

    // The api agrees: the new password works and no change is due any more.
    const s = await login(t.url, 'carol', 'carols-own-password-2');
    expect(s.mustChangePassword).to.equal(false);

    // The admin sees the login.
    await admin.page.reload();
    await row.getByText('Enabled').waitFor();
    expect(await row.getByText('Password change due').count()).to.equal(0);
    expect(await row.locator('time').first().innerText()).to.match(/now|second|minute/);
  });

  // Issue #19: common passwords were accepted, and a reset after a compromise left API tokens working.
  it('shows the api\'s reason for refusing a guessable password, and a reset revokes the user\'s API tokens by default', async () => {
    const admin = await open();
    await logIn(admin.page, ADMIN.username, ADMIN.password);
    await navTo(admin.page, 'Users');
    await heading(admin.page, 'Users').waitFor();
    await admin.page.getByRole('button', { name: 'Add user' }).click();
    await admin.page.getByLabel('User name').fill('erin');
    await admin.page.getByLabel('Password', { exact: true }).fill('password1234');
    await admin.page.getByRole('button', { name: 'Create user' }).click();
    await admin.page.locator('#new-password-error').getByText('This password is too easy to guess. This is similar to a commonly used password.').waitFor();
    expect(await admin.page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).to.equal('true');
    await shoot(admin.page, 'users-create-guessable');
    await admin.page.getByRole('button', { name: 'Cancel' }).click();

    const api = await login(t.url, ADMIN.username, ADMIN.password);
    const frank = await createUser(t.url, api.token, { username: 'frank', role: 'viewer' });
    const token = (await call(t.url, 'POST', '/api/v1/tokens', { token: frank.session.token, body: { name: 'frank grafana' } })).body.token as string;
    await admin.page.reload();
    await admin.page.getByRole('button', { name: 'Reset password of frank' }).click();
    const dialog = admin.page.getByRole('dialog');
    // The dialog's body is slotted into <pw-dialog>: found from the page, not inside the <dialog>.
    const revoke = admin.page.getByLabel('Revoke their API tokens too');
    expect(await revoke.isChecked(), 'revoking is on by default').to.equal(true);
    await admin.page.getByLabel('New password', { exact: true }).fill('123456789012');
    await dialog.getByRole('button', { name: 'Reset password' }).click();
    await admin.page.locator('#reset-error').getByText('This password is too easy to guess. This is a commonly used password.').waitFor();
    await shoot(admin.page, 'users-reset-guessable');
    await admin.page.getByLabel('New password', { exact: true }).fill('temporary-password-9');
    await dialog.getByRole('button', { name: 'Reset password' }).click();
    await admin.page.getByText('1 API token was revoked.').waitFor();
    expect((await call(t.url, 'GET', '/api/v1/me', { token })).status, 'the API refuses the token').to.equal(401);

    // Their own change shows the reason under the new password too.
    const f = await open();
    await logIn(f.page, 'frank', 'temporary-password-9');
    await heading(f.page, 'Choose a new password').waitFor();
    await f.page.getByLabel('Current (temporary) password').fill('temporary-password-9');
    await f.page.getByLabel('New password', { exact: true }).fill('aaaaaaaaaaaa');
    await f.page.getByLabel('New password again').fill('aaaaaaaaaaaa');
    await f.page.getByRole('button', { name: 'Change password' }).click();
    await f.page.locator('#next-error').getByText('This password is too easy to guess. Repeated characters like "aaa" are easy to guess.').waitFor();
    await shoot(f.page, 'password-guessable');
  });

  it('creates an API token shown once, revokes it, and the API refuses it from then on', async () => {
    const { page } = await open();
    await logIn(page, ADMIN.username, ADMIN.password);
    await heading(page, 'Status').waitFor();
    await navTo(page, 'API tokens');
    await heading(page, 'API tokens').waitFor();
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('Give the token a name').waitFor();

    await page.getByLabel('Name').fill('grafana e2e');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByLabel('Expires').selectOption('30');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('Copy it now: it is shown only this once.').waitFor();
    await page.getByText('Paste this into the Grafana datasource').waitFor();
    const token = await page.getByLabel('The new API token').inputValue();
    expect(token).to.match(/^pw_[A-Za-z0-9_-]{43}$/);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).to.equal(token);
    await shoot(page, 'tokens-created');

    const before = await call(t.url, 'GET', '/api/v1/me', { token });
    expect(before.status).to.equal(200);
    expect(before.body.authenticatedWith).to.equal('api_token');

    // Shown once: gone after "I have copied it", and the list has only its prefix.
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.getByLabel('The new API token').count()).to.equal(0);
    const row = page.locator('tr[data-token="grafana e2e"]');
    await row.getByText(`${token.slice(0, 11)}…`).waitFor();
    await row.getByText('Active').waitFor();

    await row.getByRole('button', { name: 'Revoke grafana e2e' }).click();
    await page.getByRole('dialog').getByText('Revoke “grafana e2e”?').waitFor();
    await shoot(page, 'tokens-revoke-dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('Token “grafana e2e” revoked').waitFor();
    await row.getByText('Revoked').waitFor();
    await shoot(page, 'tokens');

    const after = await call(t.url, 'GET', '/api/v1/me', { token });
    expect(after.status).to.equal(401);
  });

  it('changes retention, checked before sending, and finds it after a reload', async () => {
    await t.db.query(
      `INSERT INTO retention_runs (tier, started_at, finished_at, duration_seconds, dropped_partitions, error) VALUES
         ('raw', now() - interval '2 hours', now() - interval '2 hours' + interval '1.3 seconds', 1.3, '{snapshots_raw_20250101,snapshots_raw_20250102}', NULL),
         ('1m', now() - interval '1 hour', now() - interval '1 hour' + interval '0.2 seconds', 0.2, '{}', 'could not obtain lock on relation "rollups_1m"')`,
    );
    const { page, requests } = await open();
    await logIn(page, ADMIN.username, ADMIN.password);
    await heading(page, 'Status').waitFor();
    await navTo(page, 'Retention');
    await heading(page, 'Retention').waitFor();
    await page.getByText('could not obtain lock on relation').waitFor();
    await page.locator('table').getByText('2 partitions', { exact: true }).waitFor();
    // Storage used per tier and the next run of the schedule pg-boss keeps (daily, 03:17 UTC).
    for (const tier of ['raw', '1m', '1h']) await page.locator(`[data-usage="${tier}"]`).getByText(/\d+ rows? in \d+ partitions?/).waitFor();
    expect(await page.locator('[data-usage="raw"] .used').innerText()).to.match(/^\d+(\.\d+)? (B|KB|MB)$/);
    const next = await page.locator('[data-next-run] time').first().getAttribute('datetime');
    expect(new Date(next!).toISOString().slice(11, 19)).to.equal('03:17:00');
    // Run now queues a real run to the api's pg-boss; its rows appear in the history
    const runsBefore = Number((await t.db.query('SELECT count(*) FROM retention_runs')).rows[0].count);
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByText('Retention run finished.').waitFor({ timeout: 40_000 });
    expect(Number((await t.db.query('SELECT count(*) FROM retention_runs')).rows[0].count)).to.be.greaterThan(runsBefore);

    const raw = page.getByLabel('Raw snapshots');
    const m1 = page.getByLabel('1-minute rollups');
    const h1 = page.getByLabel('1-hour rollups');
    // raw longer than 1m: refused here, nothing sent.
    await raw.fill('500');
    await m1.fill('100');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await page.getByText('Raw snapshots cannot be kept longer than 1-minute rollups.').waitFor();
    expect(requests.filter((r) => r === 'PUT /api/v1/retention')).to.have.length(0);
    await shoot(page, 'retention-invalid');

    await raw.fill('5');
    await m1.fill('45');
    await h1.fill('800');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await page.getByText(/^Saved: raw snapshots 5 days/).waitFor();
    await shoot(page, 'retention');

    await page.reload();
    await heading(page, 'Retention').waitFor();
    await expectValue(page, 'Raw snapshots', '5');
    await expectValue(page, '1-minute rollups', '45');
    await expectValue(page, '1-hour rollups', '800');
    const api = await call(t.url, 'GET', '/api/v1/retention', { token: (await login(t.url, ADMIN.username, ADMIN.password)).token });
    expect(Object.fromEntries(api.body.tiers.map((x: { tier: string; days: number }) => [x.tier, x.days]))).to.deep.equal({ raw: 5, '1m': 45, '1h': 800 });
  });

  async function expectValue(page: Page, label: string, want: string): Promise<void> {
    const input = page.getByLabel(label);
    for (let i = 0; i < 50 && (await input.inputValue()) !== want; i++) await page.waitForTimeout(50);
    expect(await input.inputValue(), label).to.equal(want);
  }

  it('a viewer sees no administrator screens, and their addresses say not allowed', async () => {
    const admin = await login(t.url, ADMIN.username, ADMIN.password);
    await createUser(t.url, admin.token, { username: 'victor', role: 'viewer' });
    const { page } = await open();
    await logIn(page, 'victor', 'victor-long-password-1');
    await heading(page, 'Status').waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allInnerTexts()).to.deep.equal(['Status', 'API tokens', 'Account']);

    for (const [hash, title] of [
      ['#/users', 'Users'],
      ['#/retention', 'Retention'],
    ]) {
      await page.goto(`/${hash}`);
      await heading(page, 'Not allowed').waitFor();
      await page.getByText(`${title} is for administrators.`).waitFor();
    }
    await shoot(page, 'not-allowed');

    // Tokens: their own, viewer role only.
    await page.goto('/#/tokens');
    await heading(page, 'API tokens').waitFor();
    expect(await page.getByLabel('Role').locator('option').allInnerTexts()).to.deep.equal(['Viewer (read only)']);
    expect(await page.getByText('Show every user’s tokens').count()).to.equal(0);

    await page.goto('/#/account');
    await heading(page, 'Your account').waitFor();
    await shoot(page, 'account');
  });

  it('refuses to demote the last administrator with the API’s message', async () => {
    const { page } = await open();
    await logIn(page, ADMIN.username, ADMIN.password);
    await heading(page, 'Status').waitFor();
    await page.goto('/#/users');
    const row = page.locator(`tr[data-user="${ADMIN.username}"]`);
    await row.getByLabel(`Role of ${ADMIN.username}`).selectOption('viewer');
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Make yourself a viewer?').waitFor();
    await dialog.getByRole('button', { name: 'Become a viewer' }).click();
    await dialog.getByText(`"${ADMIN.username}" is the last enabled administrator: make another user an administrator first`).waitFor();
    await shoot(page, 'users-last-admin');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await row.getByLabel(`Role of ${ADMIN.username}`).inputValue()).to.equal('admin');

    // Delete, confirmed, of another user.
    const admin = await login(t.url, ADMIN.username, ADMIN.password);
    await createUser(t.url, admin.token, { username: 'dave', role: 'viewer' });
    await page.reload();
    await page.locator('tr[data-user="dave"]').getByRole('button', { name: 'Delete dave' }).click();
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await page.getByText('“dave” was deleted').waitFor();
    expect(await page.locator('tr[data-user="dave"]').count()).to.equal(0);
  });

  describe('with 60-second access tokens', () => {
    let short: TestApi;

    before(async function () {
      if (!browser) this.skip();
      short = await startTestApi({ env: { PERFWATCH_UI_PORT: '0', PERFWATCH_JWT_TTL_SECONDS: '60' }, start: { serveUi: true } });
    });

    it('renews an expired access token once for parallel calls, and sends an expired session to login with a message', async function () {
      this.timeout(150_000);
      const base = short.api.uiUrl!;
      const adminToken = (await login(short.url, ADMIN.username, ADMIN.password)).token;
      await createUser(short.url, adminToken, { username: 'erin', role: 'admin' });

      const kept = await open(base);
      await logIn(kept.page, ADMIN.username, ADMIN.password);
      await heading(kept.page, 'Status').waitFor();
      const lapsed = await open(base);
      await logIn(lapsed.page, 'erin', 'erin-long-password-1');
      await heading(lapsed.page, 'Status').waitFor();
      // erin's refresh token has run out too (as after 7 days away).
      await short.db.query(
        `UPDATE auth_refresh_tokens SET expires_at = now() - interval '1 second'
          WHERE session_id IN (SELECT s.id FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'erin')`,
      );

      // Both wait on a screen that calls nothing (Status refreshes itself) while their access
      // tokens, and the cookies holding them, expire.
      for (const x of [kept, lapsed]) {
        await navTo(x.page, 'Account');
        await heading(x.page, 'Your account').waitFor();
      }
      kept.requests.length = 0;
      kept.responses.length = 0;
      await kept.page.waitForTimeout(62_000);

      // Retention makes its calls in parallel: all get 401, and all wait for the one refresh.
      await navTo(kept.page, 'Retention');
      await kept.page.getByText('No retention runs yet.').waitFor();
      await kept.page.locator('[data-usage="raw"]').waitFor();
      expect(kept.responses.filter((r) => /^401 GET \/api\/v1\/(retention|status)/.test(r)), kept.responses.join('\n')).to.have.length(3);
      expect(kept.requests.filter((r) => r === 'POST /api/v1/auth/refresh'), kept.requests.join('\n')).to.have.length(1);
      await navTo(kept.page, 'Users');
      await kept.page.locator(`tr[data-user="erin"]`).waitFor();
      expect(kept.requests.filter((r) => r === 'POST /api/v1/auth/refresh')).to.have.length(1);

      await navTo(lapsed.page, 'Users');
      await heading(lapsed.page, 'Log in').waitFor();
      await lapsed.page.getByText('Your session has expired. Log in again to continue.').waitFor();
      await shoot(lapsed.page, 'login-session-expired');

      // Logging in again returns to where they were.
      await lapsed.page.getByLabel('User name').fill('erin');
      await lapsed.page.getByLabel('Password', { exact: true }).fill('erin-long-password-1');
      await lapsed.page.getByRole('button', { name: 'Log in' }).click();
      await heading(lapsed.page, 'Users').waitFor();
    });
  });
});
