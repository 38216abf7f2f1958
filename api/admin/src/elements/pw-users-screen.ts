/**
 * <pw-users-screen> (administrators): every user with role, status and last login; add a user;
 * change a role; disable / enable; reset a password; delete. Disabling, deleting and anything
 * done to your own account ask first. The api refuses to remove or demote the last enabled
 * administrator (409 LAST_ADMIN): its message is shown as is.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { DEFAULT_POLICY, generatePassword, passwordPolicy, passwordProblem, passwordRefusal, type PasswordPolicy } from '../data/auth.js';
import { isAbort, messageOf, settle } from '../data/http.js';
import type { Me, Role, User } from '../data/types.js';
import { createUser, deleteUser, listUsers, updateUser, USERNAME_RE, type UserPatch } from '../data/users.js';
import { ariaBusy, busyLabel, fieldError } from '../forms.js';
import { timeAgo } from '../format.js';
import { theme } from '../theme.js';
import './pw-alert.js';
import './pw-dialog.js';

type Pending = { kind: 'delete' | 'disable' | 'demote-self' | 'reset'; user: User };
type CreateField = 'username' | 'password';

@customElement('pw-users-screen')
export class PwUsersScreen extends LitElement {
  static override styles = [
    theme,
    css`
      .create .fields {
        grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr));
      }
      .with-button {
        display: flex;
        gap: 0.5rem;
      }
      .with-button input {
        flex: 1;
        min-width: 0;
        font-family: var(--pw-mono);
      }
      .name {
        font-weight: 600;
      }
      .you {
        margin-left: 0.35rem;
      }
      td select {
        min-height: 2rem;
        padding-top: 0.2rem;
        padding-bottom: 0.2rem;
        width: 9.5rem;
      }
      .status {
        display: inline-flex;
        flex-wrap: wrap;
        gap: 0.3rem;
      }
    `,
  ];

  @property({ attribute: false }) me?: Me;

  @state() private users?: User[];
  @state() private loadError = '';
  @state() private showCreate = false;
  @state() private creating = false;
  @state() private createError = '';
  @state() private createInvalid: Partial<Record<CreateField, string>> = {};
  @state() private rowBusy = new Set<number>();
  @state() private message: { kind: 'error' | 'success'; text: string } | undefined;
  @state() private pending?: Pending;
  @state() private pendingBusy = false;
  @state() private pendingError = '';
  @state() private resetInvalid = '';
  @state() private policy: PasswordPolicy = DEFAULT_POLICY;

  @query('#new-username') private newUsername!: HTMLInputElement;
  @query('#new-password') private newPassword!: HTMLInputElement;
  @query('#new-role') private newRole!: HTMLSelectElement;
  @query('#new-must-change') private newMustChange!: HTMLInputElement;
  @query('#reset-password') private resetPassword?: HTMLInputElement;
  @query('#reset-must-change') private resetMustChange?: HTMLInputElement;
  @query('#reset-revoke-tokens') private resetRevokeTokens?: HTMLInputElement;

  private abort = new AbortController();

  override connectedCallback(): void {
    super.connectedCallback();
    this.abort = new AbortController();
    void passwordPolicy().then((p) => (this.policy = p));
    void this.load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort.abort();
  }

  private load(): Promise<void> {
    return settle(listUsers(this.abort.signal), (users) => ((this.users = users), (this.loadError = '')), (m) => (this.loadError = m));
  }

  private replace(u: User): void {
    this.users = this.users?.map((x) => (x.id === u.id ? u : x));
  }

  private setRowBusy(id: number, busy: boolean): void {
    const s = new Set(this.rowBusy);
    if (busy) s.add(id);
    else s.delete(id);
    this.rowBusy = s;
  }

  // --- add a user ---

  private async toggleCreate(): Promise<void> {
    this.showCreate = !this.showCreate;
    this.createError = '';
    this.createInvalid = {};
    if (this.showCreate) {
      await this.updateComplete;
      this.newUsername.focus();
    }
  }

  private async create(e: Event): Promise<void> {
    e.preventDefault();
    if (this.creating) return;
    const username = this.newUsername.value.trim();
    const password = this.newPassword.value;
    const invalid: Partial<Record<CreateField, string>> = {};
    if (!username) invalid.username = 'Enter a user name.';
    else if (!USERNAME_RE.test(username)) invalid.username = 'Use 1 to 64 letters, digits and _ . @ -, starting with a letter or digit.';
    else if (this.users?.some((u) => u.username.toLowerCase() === username.toLowerCase())) invalid.username = `There is already a user “${username}”.`;
    const p = passwordProblem(password, this.policy, username);
    if (p) invalid.password = p;
    this.createInvalid = invalid;
    if (invalid.username || invalid.password) {
      this.createError = '';
      await this.updateComplete;
      (invalid.username ? this.newUsername : this.newPassword).focus();
      return;
    }
    this.creating = true;
    this.createError = '';
    try {
      const mustChange = this.newMustChange.checked;
      const u = await createUser({ username, password, role: this.newRole.value as Role, mustChangePassword: mustChange }, this.abort.signal);
      this.users = [...(this.users ?? []), u];
      this.message = {
        kind: 'success',
        text: `User “${u.username}” created as ${u.role === 'admin' ? 'an administrator' : 'a viewer'}.${mustChange ? ' They must choose their own password when they first log in.' : ''}`,
      };
      this.showCreate = false;
    } catch (err) {
      if (isAbort(err)) return;
      // The api's password policy (too easy to guess, and why) goes under the password field.
      const refused = passwordRefusal(err, 'body.password');
      if (refused) {
        this.createInvalid = { password: refused };
        await this.updateComplete;
        this.newPassword.focus();
        return;
      }
      this.createError = messageOf(err);
      if ((err as { code?: string }).code === 'USERNAME_TAKEN') this.newUsername.focus();
    } finally {
      this.creating = false;
    }
  }

  private generate(input: HTMLInputElement | undefined): void {
    if (!input) return;
    input.value = generatePassword();
    input.focus();
    input.select();
  }

  // --- row actions ---

  private async patch(u: User, patch: UserPatch, done: (u: User) => string): Promise<boolean> {
    this.setRowBusy(u.id, true);
    this.message = undefined;
    try {
      const updated = await updateUser(u.id, patch, this.abort.signal);
      this.replace(updated);
      this.message = { kind: 'success', text: done(updated) };
      if (updated.id === this.me?.id) this.dispatchEvent(new CustomEvent('me-changed', { bubbles: true, composed: true }));
      return true;
    } catch (err) {
      if (isAbort(err)) return false;
      this.message = { kind: 'error', text: messageOf(err) };
      // The select shows the role the user still has.
      this.requestUpdate();
      return false;
    } finally {
      this.setRowBusy(u.id, false);
    }
  }

  private roleChanged(u: User, e: Event): void {
    const role = (e.target as HTMLSelectElement).value as Role;
    if (role === u.role) return;
    if (u.id === this.me?.id && role !== 'admin') {
      this.ask({ kind: 'demote-self', user: u });
      return;
    }
    void this.patch(u, { role }, (x) => `“${x.username}” is now ${x.role === 'admin' ? 'an administrator' : 'a viewer'}.`);
  }

  private toggleDisabled(u: User): void {
    if (u.disabled) void this.patch(u, { disabled: false }, (x) => `“${x.username}” is enabled and can log in again.`);
    else this.ask({ kind: 'disable', user: u });
  }

  private ask(p: Pending): void {
    // A dialog opened again starts from the safe defaults, not from what was ticked last time.
    for (const box of [this.resetMustChange, this.resetRevokeTokens]) if (box) box.checked = true;
    this.pending = p;
    this.pendingError = '';
    this.resetInvalid = '';
    this.message = undefined;
  }

  private closeDialog(): void {
    this.pending = undefined;
    this.pendingError = '';
    this.resetInvalid = '';
    // The role select goes back to the user's role when a demotion was cancelled.
    this.requestUpdate();
  }

  private async confirmPending(): Promise<void> {
    const p = this.pending;
    if (!p || this.pendingBusy) return;
    const self = p.user.id === this.me?.id;
    let patch: UserPatch | undefined;
    let done = '';
    if (p.kind === 'reset') {
      const password = this.resetPassword?.value ?? '';
      const problem = passwordProblem(password, this.policy, p.user.username);
      this.resetInvalid = problem ?? '';
      if (problem) {
        this.resetPassword?.focus();
        return;
      }
      const mustChange = this.resetMustChange?.checked ?? true;
      // On by default: a reset is what one does after an account is compromised.
      const revokeTokens = this.resetRevokeTokens?.checked ?? true;
      patch = { password, mustChangePassword: mustChange, revokeTokens };
      done = `Password of “${p.user.username}” reset; their sessions were logged out.${mustChange ? ' They must choose a new one at next login.' : ''}`;
    } else if (p.kind === 'disable') {
      patch = { disabled: true };
      done = `“${p.user.username}” is disabled: their sessions and API tokens no longer work.`;
    } else if (p.kind === 'demote-self') {
      patch = { role: 'viewer' };
      done = 'You are now a viewer.';
    }
    this.pendingBusy = true;
    this.pendingError = '';
    try {
      if (p.kind === 'delete') {
        await deleteUser(p.user.id, this.abort.signal);
        this.users = this.users?.filter((u) => u.id !== p.user.id);
        done = `“${p.user.username}” was deleted, with their sessions and API tokens.`;
      } else {
        const updated = await updateUser(p.user.id, patch!, this.abort.signal);
        this.replace(updated);
        if (updated.revokedTokens !== undefined) {
          const n = updated.revokedTokens;
          done += n === 0 ? ' They had no API tokens to revoke.' : ` ${n} API ${n === 1 ? 'token was' : 'tokens were'} revoked.`;
        }
      }
      this.pending = undefined;
      this.message = { kind: 'success', text: done };
      if (self) {
        const ended = p.kind === 'delete' ? 'Your account was deleted.' : p.kind === 'disable' ? 'Your account was disabled.' : p.kind === 'reset' ? 'Your password was reset: log in with the new one.' : undefined;
        if (ended) this.dispatchEvent(new CustomEvent('signed-out', { detail: ended, bubbles: true, composed: true }));
        else this.dispatchEvent(new CustomEvent('me-changed', { bubbles: true, composed: true }));
      }
    } catch (err) {
      if (isAbort(err)) return;
      const refused = p.kind === 'reset' ? passwordRefusal(err, 'body.password') : undefined;
      if (refused) {
        this.resetInvalid = refused;
        this.resetPassword?.focus();
        return;
      }
      this.pendingError = messageOf(err);
    } finally {
      this.pendingBusy = false;
    }
  }

  // --- rendering ---

  private renderCreate() {
    const inv = this.createInvalid;
    return html`<section class="card create" id="create-user" aria-labelledby="create-title">
      <div class="card-head">
        <h2 id="create-title">Add a user</h2>
        <p class="hint">The password you set is temporary unless you untick the box.</p>
      </div>
      <form @submit=${this.create} novalidate aria-busy=${ariaBusy(this.creating)}>
        <div class="fields">
          <div class="field">
            <label for="new-username">User name</label>
            <input id="new-username" type="text" autocomplete="off" autocapitalize="none" spellcheck="false"
              aria-invalid=${inv.username ? 'true' : 'false'} aria-describedby="new-username-error" />
            ${fieldError('new-username-error', inv.username)}
          </div>
          <div class="field">
            <label for="new-role">Role</label>
            <select id="new-role" aria-describedby="new-role-hint">
              <option value="viewer" selected>Viewer</option>
              <option value="admin">Administrator</option>
            </select>
            <p class="hint" id="new-role-hint">Viewers read and manage their own tokens; administrators manage everything.</p>
          </div>
          <div class="field">
            <label for="new-password">Password</label>
            <div class="with-button">
              <input id="new-password" type="text" autocomplete="new-password" spellcheck="false"
                aria-invalid=${inv.password ? 'true' : 'false'} aria-describedby="new-password-hint new-password-error" />
              <button type="button" @click=${() => this.generate(this.newPassword)}>Generate</button>
            </div>
            <p class="hint" id="new-password-hint">At least ${this.policy.minLength} characters, not a common or easily guessed one; give it to them safely.</p>
            ${fieldError('new-password-error', inv.password)}
          </div>
        </div>
        <label class="check mt"><input id="new-must-change" type="checkbox" checked /> Must choose their own password at first login</label>
        <pw-alert class="mt" .message=${this.createError}></pw-alert>
        <div class="form-actions">
          <button type="submit" class="primary" aria-disabled=${ariaBusy(this.creating)}>${busyLabel(this.creating, 'Create user', 'Creating…')}</button>
          <button type="button" @click=${this.toggleCreate}>Cancel</button>
        </div>
      </form>
    </section>`;
  }

  private renderRow(u: User) {
    const self = u.id === this.me?.id;
    const busy = this.rowBusy.has(u.id);
    return html`<tr data-user=${u.username} aria-busy=${ariaBusy(busy)}>
      <td class="primary-cell" data-label="User">
        <span class="name">${u.username}</span>${self ? html`<span class="badge accent you">you</span>` : nothing}
      </td>
      <td data-label="Role">
        <select aria-label=${`Role of ${u.username}`} .value=${live(u.role)} @change=${(e: Event) => this.roleChanged(u, e)} ?disabled=${busy}>
          <option value="viewer" ?selected=${u.role === 'viewer'}>Viewer</option>
          <option value="admin" ?selected=${u.role === 'admin'}>Administrator</option>
        </select>
      </td>
      <td data-label="Status">
        <span class="status">
          ${u.disabled ? html`<span class="badge danger">Disabled</span>` : html`<span class="badge ok">Enabled</span>`}
          ${u.mustChangePassword ? html`<span class="badge warn" title="Must choose a new password at next login">Password change due</span>` : nothing}
        </span>
      </td>
      <td data-label="Last login">${timeAgo(u.lastLoginAt)}</td>
      <td data-label="Created">${timeAgo(u.createdAt)}</td>
      <td class="actions">
        <span class="row-actions">
          ${busy ? html`<span class="spinner" role="img" aria-label="Saving"></span>` : nothing}
          <button type="button" class="small" @click=${() => this.toggleDisabled(u)} aria-disabled=${ariaBusy(busy)} aria-label=${`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`}>
            ${u.disabled ? 'Enable' : 'Disable'}
          </button>
          <button type="button" class="small" @click=${() => this.ask({ kind: 'reset', user: u })} aria-label=${`Reset password of ${u.username}`}>Reset password</button>
          <button type="button" class="small danger-quiet" @click=${() => this.ask({ kind: 'delete', user: u })} aria-label=${`Delete ${u.username}`}>Delete</button>
        </span>
      </td>
    </tr>`;
  }

  private renderDialog() {
    const p = this.pending;
    const self = p?.user.id === this.me?.id;
    const name = p?.user.username ?? '';
    let heading = '';
    let label = '';
    let busyText = '';
    let body: unknown = nothing;
    switch (p?.kind) {
      case 'delete':
        heading = self ? 'Delete your own account?' : `Delete “${name}”?`;
        label = 'Delete user';
        busyText = 'Deleting…';
        body = html`<p>${self ? 'You will be logged out at once. ' : ''}The account, its sessions and its API tokens are removed for good. Grafana datasources using those tokens stop working.</p>`;
        break;
      case 'disable':
        heading = self ? 'Disable your own account?' : `Disable “${name}”?`;
        label = 'Disable user';
        busyText = 'Disabling…';
        body = html`<p>${self ? 'You will be logged out at once. ' : ''}They cannot log in, and their sessions and API tokens stop working until the account is enabled again.</p>`;
        break;
      case 'demote-self':
        heading = 'Make yourself a viewer?';
        label = 'Become a viewer';
        busyText = 'Changing…';
        body = html`<p>You lose the administrator screens (users, retention) at once; another administrator has to give the role back.</p>`;
        break;
      case 'reset':
        heading = `Reset the password of “${name}”`;
        label = 'Reset password';
        busyText = 'Resetting…';
        body = html`<p class="muted">${self ? 'Your other sessions are logged out.' : 'Their sessions are logged out.'}</p>
          <div class="field">
            <label for="reset-password">New password</label>
            <div class="with-button">
              <input id="reset-password" type="text" autocomplete="new-password" spellcheck="false"
                aria-invalid=${this.resetInvalid ? 'true' : 'false'} aria-describedby="reset-error" />
              <button type="button" @click=${() => this.generate(this.resetPassword)}>Generate</button>
            </div>
            ${fieldError('reset-error', this.resetInvalid)}
          </div>
          <label class="check"><input id="reset-must-change" type="checkbox" checked /> Must choose a new password at next login</label>
          <label class="check"><input id="reset-revoke-tokens" type="checkbox" checked aria-describedby="reset-revoke-hint" /> Revoke ${self ? 'your' : 'their'} API tokens too</label>
          <p class="hint" id="reset-revoke-hint">Leave this on after a compromise: tokens made by whoever had the account stop working. Grafana datasources using them then need new ones.</p>`;
        break;
    }
    return html`<pw-dialog
      .open=${p !== undefined}
      .heading=${heading}
      .confirmLabel=${label}
      .busyLabel=${busyText}
      ?danger=${p?.kind === 'delete' || p?.kind === 'disable' || p?.kind === 'demote-self'}
      .busy=${this.pendingBusy}
      .error=${this.pendingError}
      @confirm=${this.confirmPending}
      @cancel=${this.closeDialog}
      >${body}</pw-dialog
    >`;
  }

  override render() {
    const users = this.users;
    return html`<div class="screen">
      <div class="screen-head">
        <div>
          <h1 tabindex="-1">Users</h1>
          <p class="lead">People who can log in to PerfWatch. Viewers read; administrators also manage users, everyone's API tokens and retention.</p>
        </div>
        <button type="button" class="primary" @click=${this.toggleCreate} aria-expanded=${this.showCreate ? 'true' : 'false'} aria-controls="create-user" ?hidden=${this.showCreate}>
          Add user
        </button>
      </div>
      ${this.showCreate ? this.renderCreate() : nothing}
      <section class="card flush" aria-labelledby="list-title">
        <div class="card-head">
          <h2 id="list-title">${users ? `${users.length} ${users.length === 1 ? 'user' : 'users'}` : 'Users'}</h2>
        </div>
        <div class="table-msg"><pw-alert kind=${this.message?.kind ?? 'error'} .message=${this.message?.text ?? ''}></pw-alert></div>
        ${this.loadError
          ? html`<div class="table-msg"><pw-alert .message=${this.loadError}></pw-alert></div>`
          : !users
            ? html`<p class="empty"><span class="spinner" aria-hidden="true"></span> Loading users…</p>`
            : html`<div class="table-wrap">
                <table class="cards">
                  <thead>
                    <tr>
                      <th scope="col">User</th>
                      <th scope="col">Role</th>
                      <th scope="col">Status</th>
                      <th scope="col">Last login</th>
                      <th scope="col">Created</th>
                      <th scope="col"><span class="sr-only">Actions</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    ${users.map((u) => this.renderRow(u))}
                  </tbody>
                </table>
              </div>`}
      </section>
      ${this.renderDialog()}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-users-screen': PwUsersScreen;
  }
}
