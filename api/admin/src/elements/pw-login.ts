/**
 * <pw-login>: user name and password. On success it fires `logged-in` (the shell then asks
 * /api/v1/me who this is and whether the password must be changed first). `notice` is what
 * brought the person here (their session expired, they logged out).
 */
import { LitElement, css, html } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { login } from '../data/auth.js';
import { isAbort, messageOf } from '../data/http.js';
import { ariaBusy, busyLabel, fieldError } from '../forms.js';
import { theme } from '../theme.js';
import './pw-alert.js';
import './pw-brand.js';

@customElement('pw-login')
export class PwLogin extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        min-height: 100vh;
        display: grid;
        place-items: center;
        padding: 1.5rem 1rem 4rem;
      }
      .wrap {
        width: min(25rem, 100%);
        display: flex;
        flex-direction: column;
        gap: 1.25rem;
      }
      pw-brand {
        align-self: center;
        font-size: 1.25rem;
      }
      .card {
        padding: 1.75rem 1.75rem 1.5rem;
      }
      h1 {
        font-size: 1.35rem;
        margin-bottom: 0.3rem;
      }
      form {
        display: flex;
        flex-direction: column;
        gap: 1rem;
        margin-top: 1.25rem;
      }
      button.primary {
        width: 100%;
        margin-top: 0.25rem;
      }
      .foot {
        text-align: center;
        font-size: 0.85rem;
      }
    `,
  ];

  /** why the person is here: shown above the form. */
  @property() notice = '';
  @property({ attribute: 'notice-kind' }) noticeKind: 'info' | 'error' | 'success' = 'info';

  @state() private busy = false;
  @state() private error = '';
  @state() private invalid: { username?: string; password?: string } = {};

  @query('#username') private usernameInput!: HTMLInputElement;
  @query('#password') private passwordInput!: HTMLInputElement;

  private abort?: AbortController;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort?.abort();
  }

  focusFirst(): void {
    (this.usernameInput.value ? this.passwordInput : this.usernameInput).focus();
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    if (this.busy) return;
    const username = this.usernameInput.value.trim();
    const password = this.passwordInput.value;
    this.invalid = {
      ...(username ? {} : { username: 'Enter your user name.' }),
      ...(password ? {} : { password: 'Enter your password.' }),
    };
    if (this.invalid.username || this.invalid.password) {
      this.error = '';
      await this.updateComplete;
      (this.invalid.username ? this.usernameInput : this.passwordInput).focus();
      return;
    }
    this.busy = true;
    this.error = '';
    this.abort = new AbortController();
    try {
      const answer = await login(username, password, this.abort.signal);
      this.dispatchEvent(new CustomEvent('logged-in', { detail: answer, bubbles: true, composed: true }));
    } catch (err) {
      if (isAbort(err)) return;
      this.error = messageOf(err);
      this.passwordInput.select();
      this.passwordInput.focus();
    } finally {
      this.busy = false;
    }
  }

  override render() {
    return html`<div class="wrap">
      <pw-brand sub="admin"></pw-brand>
      <main class="card">
        <h1 tabindex="-1">Log in</h1>
        <p class="muted">Manage users, API tokens and data retention of this PerfWatch installation.</p>
        <pw-alert kind=${this.noticeKind} .message=${this.error ? '' : this.notice}></pw-alert>
        <form @submit=${this.submit} novalidate aria-busy=${ariaBusy(this.busy)}>
          <div class="field">
            <label for="username">User name</label>
            <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required
              aria-invalid=${this.invalid.username ? 'true' : 'false'} aria-describedby="username-error" />
            ${fieldError('username-error', this.invalid.username)}
          </div>
          <div class="field">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required
              aria-invalid=${this.invalid.password ? 'true' : 'false'} aria-describedby="password-error" />
            ${fieldError('password-error', this.invalid.password)}
          </div>
          <pw-alert .message=${this.error}></pw-alert>
          <button type="submit" class="primary" aria-disabled=${ariaBusy(this.busy)}>${busyLabel(this.busy, 'Log in', 'Logging in…')}</button>
        </form>
      </main>
      <p class="foot muted">Lost the administrator password? See “First start” in docs/api.md.</p>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-login': PwLogin;
  }
}
