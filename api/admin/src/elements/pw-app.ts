/**
 * <pw-app>: the shell. It finds out who is logged in (GET /api/v1/me, which renews an expired
 * access cookie through the refresh flow), then shows login, the forced password change, or the
 * console: a header with the navigation this role may use and the screen the address names
 * (#/status, #/users, #/tokens, #/retention, #/account). A viewer never sees the administrator
 * screens in the navigation, and their addresses show <pw-not-allowed>. When a call finds the
 * session gone (sessionEvents 'expired') it goes back to login with a message; when the api says
 * PASSWORD_CHANGE_REQUIRED, to the password change.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { logout, me as fetchMe } from '../data/auth.js';
import { isAbort, messageOf, sessionEvents, type ExpiredDetail } from '../data/http.js';
import type { Me } from '../data/types.js';
import { ariaBusy, busyLabel } from '../forms.js';
import { theme } from '../theme.js';
import './pw-account-screen.js';
import './pw-alert.js';
import './pw-brand.js';
import './pw-login.js';
import './pw-not-allowed.js';
import './pw-password-form.js';
import './pw-retention-screen.js';
import './pw-status-screen.js';
import './pw-tokens-screen.js';
import './pw-users-screen.js';

type Phase = 'boot' | 'login' | 'change-password' | 'app';

interface Screen {
  title: string;
  /** administrators only */
  admin: boolean;
}

/** The screens, in navigation order. */
const SCREENS: Record<string, Screen> = {
  status: { title: 'Status', admin: false },
  users: { title: 'Users', admin: true },
  tokens: { title: 'API tokens', admin: false },
  retention: { title: 'Retention', admin: true },
  account: { title: 'Account', admin: false },
};

export const EXPIRED_MESSAGE = 'Your session has expired. Log in again to continue.';

function routeFromHash(): string {
  const r = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return r || 'status';
}

@customElement('pw-app')
export class PwApp extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        min-height: 100vh;
      }
      .skip {
        position: absolute;
        left: 0.75rem;
        top: -4rem;
        z-index: 10;
        background: var(--pw-surface);
        color: var(--pw-accent);
      }
      .skip:focus {
        top: 0.6rem;
      }
      header {
        background: var(--pw-header);
        color: #e8ecf5;
        position: sticky;
        top: 0;
        z-index: 5;
        box-shadow: 0 1px 0 rgb(255 255 255 / 6%), 0 2px 8px rgb(0 0 0 / 12%);
      }
      .bar {
        max-width: 76rem;
        margin: 0 auto;
        padding: 0 1.5rem;
        display: flex;
        align-items: center;
        gap: 2rem;
        min-height: 3.75rem;
      }
      a.home {
        color: #fff;
        text-decoration: none;
        border-radius: 7px;
      }
      a.home:focus-visible {
        box-shadow: 0 0 0 3px rgb(130 160 255 / 60%);
      }
      nav {
        flex: 1;
        min-width: 0;
      }
      nav ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: flex;
        gap: 0.25rem;
      }
      nav a {
        display: block;
        padding: 0.45rem 0.8rem;
        border-radius: 7px;
        color: #b9c2d6;
        text-decoration: none;
        font-weight: 550;
        font-size: 0.93rem;
        white-space: nowrap;
      }
      nav a:hover {
        color: #fff;
        background: rgb(255 255 255 / 7%);
      }
      nav a[aria-current='page'] {
        color: #fff;
        background: rgb(255 255 255 / 12%);
      }
      nav a:focus-visible {
        box-shadow: 0 0 0 3px rgb(130 160 255 / 60%);
      }
      .user {
        display: flex;
        align-items: center;
        gap: 0.75rem;
        font-size: 0.9rem;
        white-space: nowrap;
      }
      .who {
        display: flex;
        align-items: center;
        gap: 0.45rem;
        color: #dfe5f1;
      }
      .who .badge {
        background: rgb(255 255 255 / 12%);
        color: #dfe5f1;
      }
      header button {
        background: transparent;
        color: #e8ecf5;
        border-color: rgb(255 255 255 / 25%);
        min-height: 2.1rem;
        padding: 0.2rem 0.8rem;
        font-size: 0.88rem;
      }
      header button:hover {
        background: rgb(255 255 255 / 10%);
        border-color: rgb(255 255 255 / 40%);
      }
      main {
        max-width: 76rem;
        margin: 0 auto;
        padding: 2rem 1.5rem 4rem;
        outline: none;
      }
      .app-alert {
        margin-bottom: 1.25rem;
      }
      .app-alert[empty] {
        margin: 0;
      }
      .boot {
        min-height: 100vh;
        display: grid;
        place-items: center;
        color: var(--pw-muted);
      }
      .boot p {
        display: flex;
        gap: 0.6rem;
        align-items: center;
      }
      .forced {
        min-height: 100vh;
        display: grid;
        place-items: center;
        padding: 1.5rem 1rem 4rem;
      }
      .forced .wrap {
        width: min(28rem, 100%);
        display: flex;
        flex-direction: column;
        gap: 1.25rem;
      }
      .forced pw-brand {
        align-self: center;
        font-size: 1.25rem;
      }
      .forced .card {
        padding: 1.75rem;
      }
      .forced h1 {
        font-size: 1.35rem;
        margin-bottom: 0.4rem;
      }
      .forced .lead {
        margin: 0 0 1.25rem;
      }
      .forced .foot {
        text-align: center;
        font-size: 0.88rem;
      }
      @media (max-width: 760px) {
        .bar {
          flex-wrap: wrap;
          gap: 0 1rem;
          padding: 0.5rem 1rem 0;
          justify-content: space-between;
        }
        nav {
          order: 3;
          flex: 1 1 100%;
          margin: 0.35rem -0.6rem 0;
          padding-bottom: 0.5rem;
        }
        nav ul {
          flex-wrap: wrap;
          justify-content: space-between;
          gap: 0;
        }
        nav a {
          padding: 0.4rem 0.36rem;
          font-size: 0.85rem;
        }
        .who .name {
          max-width: 9rem;
          overflow: hidden;
          text-overflow: ellipsis;
        }
        main {
          padding: 1.25rem 1rem 3rem;
        }
      }
      @media (max-width: 420px) {
        .who .badge {
          display: none;
        }
      }
    `,
  ];

  @state() private phase: Phase = 'boot';
  @state() private me?: Me;
  @state() private route = routeFromHash();
  @state() private loginNotice = '';
  @state() private loginNoticeKind: 'info' | 'error' | 'success' = 'info';
  @state() private appNotice = '';
  @state() private appNoticeKind: 'error' | 'success' = 'success';
  @state() private loggingOut = false;

  private focusPending = true;

  private readonly onHash = () => {
    const r = routeFromHash();
    if (r !== this.route) {
      this.route = r;
      this.appNotice = '';
      this.focusPending = true;
    }
  };

  private readonly onExpired = (e: Event) => {
    if (this.phase === 'login') return;
    const { hadSession } = (e as CustomEvent<ExpiredDetail>).detail;
    this.toLogin(hadSession ? EXPIRED_MESSAGE : '', 'info');
  };

  private readonly onPasswordRequired = () => {
    if (this.phase === 'app') void this.whoAmI();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    sessionEvents.addEventListener('expired', this.onExpired);
    sessionEvents.addEventListener('password-change-required', this.onPasswordRequired);
    void this.whoAmI();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHash);
    sessionEvents.removeEventListener('expired', this.onExpired);
    sessionEvents.removeEventListener('password-change-required', this.onPasswordRequired);
  }

  /** Asks the api who is logged in and shows what fits. */
  private async whoAmI(): Promise<void> {
    try {
      const me = await fetchMe();
      this.me = me;
      this.phase = me.mustChangePassword ? 'change-password' : 'app';
      this.focusPending = true;
    } catch (err) {
      if (isAbort(err)) return;
      // A 401 went through onExpired already (with or without a message).
      if ((err as { status?: number }).status === 401) {
        if (this.phase !== 'login') this.toLogin('', 'info');
        return;
      }
      this.toLogin(messageOf(err), 'error');
    }
  }

  private toLogin(notice: string, kind: 'info' | 'error' | 'success'): void {
    this.me = undefined;
    this.phase = 'login';
    this.loginNotice = notice;
    this.loginNoticeKind = kind;
    this.focusPending = true;
  }

  private async doLogout(): Promise<void> {
    if (this.loggingOut) return;
    this.loggingOut = true;
    try {
      await logout();
    } catch (err) {
      // An already-ended session is as good as logged out; anything else is worth saying.
      if ((err as { status?: number }).status !== 401) {
        this.appNotice = `Logging out failed: ${messageOf(err)}`;
        this.appNoticeKind = 'error';
        return;
      }
    } finally {
      this.loggingOut = false;
    }
    history.replaceState(null, '', '#/status');
    this.route = 'status';
    this.toLogin('You have logged out.', 'success');
  }

  private onPasswordChanged(): void {
    if (this.phase !== 'change-password' || !this.me) return;
    this.me = { ...this.me, mustChangePassword: false };
    this.phase = 'app';
    this.appNotice = 'Your new password is set. Welcome to PerfWatch.';
    this.appNoticeKind = 'success';
    this.focusPending = true;
  }

  protected override async updated(): Promise<void> {
    const screen = SCREENS[this.route];
    document.title = this.phase === 'login' ? 'Log in · PerfWatch' : `${this.phase === 'app' && screen ? screen.title : 'PerfWatch'} · PerfWatch admin`;
    if (!this.focusPending) return;
    this.focusPending = false;
    // Move focus to the new screen's heading, so keyboard and screen reader users start there.
    const el = this.renderRoot.querySelector<LitElement>('[data-screen]');
    if (!el) return;
    await el.updateComplete;
    if (el instanceof HTMLElement && 'focusFirst' in el && this.phase !== 'app') (el as unknown as { focusFirst(): void }).focusFirst();
    else el.shadowRoot?.querySelector<HTMLElement>('h1')?.focus();
  }

  private renderScreen() {
    const me = this.me;
    const screen = SCREENS[this.route];
    if (!screen) return html`<pw-not-allowed data-screen .me=${me}></pw-not-allowed>`;
    if (screen.admin && me?.role !== 'admin') return html`<pw-not-allowed data-screen .me=${me} screen=${screen.title}></pw-not-allowed>`;
    switch (this.route) {
      case 'users':
        return html`<pw-users-screen data-screen .me=${me} @me-changed=${() => void this.whoAmI()} @signed-out=${(e: CustomEvent<string>) => this.toLogin(e.detail, 'info')}></pw-users-screen>`;
      case 'tokens':
        return html`<pw-tokens-screen data-screen .me=${me}></pw-tokens-screen>`;
      case 'retention':
        return html`<pw-retention-screen data-screen></pw-retention-screen>`;
      case 'account':
        return html`<pw-account-screen data-screen .me=${me}></pw-account-screen>`;
      default:
        return html`<pw-status-screen data-screen .me=${me}></pw-status-screen>`;
    }
  }

  private renderConsole() {
    const me = this.me!;
    const items = Object.entries(SCREENS).filter(([, s]) => !s.admin || me.role === 'admin');
    return html`<button class="skip small" @click=${() => this.renderRoot.querySelector<HTMLElement>('main')?.focus()}>Skip to content</button>
      <header>
        <div class="bar">
          <a class="home" href="#/status" aria-label="PerfWatch admin: status"><pw-brand></pw-brand></a>
          <nav aria-label="Main">
            <ul>
              ${items.map(([id, s]) => html`<li><a href=${`#/${id}`} aria-current=${id === this.route ? 'page' : 'false'}>${s.title}</a></li>`)}
            </ul>
          </nav>
          <div class="user">
            <span class="who"><span class="name">${me.username}</span><span class="badge">${me.role === 'admin' ? 'admin' : 'viewer'}</span></span>
            <button type="button" @click=${this.doLogout} aria-disabled=${ariaBusy(this.loggingOut)}>${busyLabel(this.loggingOut, 'Log out', 'Logging out…')}</button>
          </div>
        </div>
      </header>
      <main id="main" tabindex="-1">
        <pw-alert class="app-alert" kind=${this.appNoticeKind} .message=${this.appNotice}></pw-alert>
        ${this.renderScreen()}
      </main>`;
  }

  private renderForced() {
    const me = this.me!;
    return html`<div class="forced">
      <div class="wrap">
        <pw-brand sub="admin"></pw-brand>
        <main class="card">
          <h1 tabindex="-1">Choose a new password</h1>
          <p class="lead">
            Hello ${me.username}. Your password was set by an administrator or generated at install time; choose your own before you continue.
          </p>
          <pw-password-form data-screen forced .username=${me.username} @password-changed=${this.onPasswordChanged}></pw-password-form>
        </main>
        <p class="foot"><button type="button" class="link" @click=${this.doLogout}>Log out instead</button></p>
      </div>
    </div>`;
  }

  override render() {
    switch (this.phase) {
      case 'boot':
        return html`<div class="boot"><p role="status"><span class="spinner" aria-hidden="true"></span>Loading PerfWatch…</p></div>`;
      case 'login':
        return html`<pw-login data-screen .notice=${this.loginNotice} notice-kind=${this.loginNoticeKind} @logged-in=${() => void this.whoAmI()}></pw-login>`;
      case 'change-password':
        return this.renderForced();
      default:
        return this.me ? this.renderConsole() : nothing;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-app': PwApp;
  }
}
