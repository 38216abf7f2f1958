/**
 * <pw-password-form>: change your own password (POST /api/v1/auth/password). Used on the Account
 * screen and, with `forced`, when the api demands a change before anything else. Checks the
 * api's policy (length from /api/openapi.json, not the user name, the confirmation matches)
 * before sending. Fires `password-changed` when done.
 */
import { LitElement, css, html } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { changePassword, DEFAULT_POLICY, passwordPolicy, passwordProblem, passwordRefusal, type PasswordPolicy } from '../data/auth.js';
import { isAbort, messageOf } from '../data/http.js';
import { ariaBusy, busyLabel, fieldError } from '../forms.js';
import { theme } from '../theme.js';
import './pw-alert.js';

type Field = 'current' | 'next' | 'confirm';

@customElement('pw-password-form')
export class PwPasswordForm extends LitElement {
  static override styles = [
    theme,
    css`
      form {
        display: flex;
        flex-direction: column;
        gap: 1rem;
        max-width: 26rem;
      }
      :host([forced]) form {
        max-width: none;
      }
      .form-actions {
        margin-top: 0.25rem;
      }
      :host([forced]) button.primary {
        width: 100%;
      }
    `,
  ];

  @property() username = '';
  @property({ type: Boolean, reflect: true }) forced = false;

  @state() private policy: PasswordPolicy = DEFAULT_POLICY;
  @state() private busy = false;
  @state() private error = '';
  @state() private done = '';
  @state() private invalid: Partial<Record<Field, string>> = {};

  @query('#current') private current!: HTMLInputElement;
  @query('#next') private next!: HTMLInputElement;
  @query('#confirm') private confirm!: HTMLInputElement;

  private abort = new AbortController();

  override connectedCallback(): void {
    super.connectedCallback();
    this.abort = new AbortController();
    void passwordPolicy().then((p) => (this.policy = p));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort.abort();
  }

  focusFirst(): void {
    this.current.focus();
  }

  private validate(): Partial<Record<Field, string>> {
    const out: Partial<Record<Field, string>> = {};
    if (!this.current.value) out.current = 'Enter your current password.';
    const p = passwordProblem(this.next.value, this.policy, this.username);
    if (p) out.next = p;
    else if (this.next.value === this.current.value) out.next = 'Choose a password different from the current one.';
    if (!out.next && this.confirm.value !== this.next.value) out.confirm = 'The two new passwords are not the same.';
    return out;
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    if (this.busy) return;
    this.done = '';
    this.invalid = this.validate();
    const first = (['current', 'next', 'confirm'] as const).find((f) => this.invalid[f]);
    if (first) {
      this.error = '';
      await this.updateComplete;
      this[first === 'next' ? 'next' : first].focus();
      return;
    }
    this.busy = true;
    this.error = '';
    try {
      await changePassword(this.current.value, this.next.value, this.abort.signal);
      for (const i of [this.current, this.next, this.confirm]) i.value = '';
      this.done = 'Your password is changed. Your other sessions were logged out.';
      this.dispatchEvent(new CustomEvent('password-changed', { bubbles: true, composed: true }));
    } catch (err) {
      if (isAbort(err)) return;
      // The api's password policy (too easy to guess, and why) goes under the new password.
      const refused = passwordRefusal(err, 'body.newPassword');
      if (refused) {
        this.invalid = { next: refused };
        this.next.focus();
        return;
      }
      this.error = messageOf(err);
      const field = (err as { code?: string }).code === 'WRONG_PASSWORD' ? this.current : this.next;
      field.focus();
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const inv = this.invalid;
    return html`<form @submit=${this.submit} novalidate aria-busy=${ariaBusy(this.busy)}>
      <input type="text" name="username" autocomplete="username" .value=${this.username} hidden readonly />
      <div class="field">
        <label for="current">${this.forced ? 'Current (temporary) password' : 'Current password'}</label>
        <input id="current" type="password" autocomplete="current-password" aria-invalid=${inv.current ? 'true' : 'false'} aria-describedby="current-error" />
        ${fieldError('current-error', inv.current)}
      </div>
      <div class="field">
        <label for="next">New password</label>
        <input id="next" type="password" autocomplete="new-password" aria-invalid=${inv.next ? 'true' : 'false'} aria-describedby="next-hint next-error" />
        <p class="hint" id="next-hint">At least ${this.policy.minLength} characters, not your user name, and not a common or easily guessed password.</p>
        ${fieldError('next-error', inv.next)}
      </div>
      <div class="field">
        <label for="confirm">New password again</label>
        <input id="confirm" type="password" autocomplete="new-password" aria-invalid=${inv.confirm ? 'true' : 'false'} aria-describedby="confirm-error" />
        ${fieldError('confirm-error', inv.confirm)}
      </div>
      <pw-alert .message=${this.error}></pw-alert>
      <pw-alert kind="success" .message=${this.done}></pw-alert>
      <div class="form-actions">
        <button type="submit" class="primary" aria-disabled=${ariaBusy(this.busy)}>${busyLabel(this.busy, 'Change password', 'Changing password…')}</button>
      </div>
    </form>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-password-form': PwPasswordForm;
  }
}
