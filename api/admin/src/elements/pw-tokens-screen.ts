/**
 * <pw-tokens-screen>: API tokens for Grafana and scripts. Everyone creates and revokes their
 * own; administrators may list and revoke everyone's. A new token is shown once
 * (<pw-token-reveal>); the list shows its prefix, role, expiry and when it was last used.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { isAbort, messageOf, settle } from '../data/http.js';
import { createToken, listTokens, revokeToken, tokenState } from '../data/tokens.js';
import type { ApiToken, CreatedToken, Me, Role } from '../data/types.js';
import { ariaBusy, busyLabel, fieldError } from '../forms.js';
import { day, roleBadge, timeAgo } from '../format.js';
import { theme } from '../theme.js';
import './pw-alert.js';
import './pw-dialog.js';
import './pw-token-reveal.js';
import type { PwTokenReveal } from './pw-token-reveal.js';

/** Expiry choices, in days; 0: never. */
const EXPIRY = [
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: '0', label: 'Never' },
  { value: 'date', label: 'On a date…' },
];

const TEN_YEARS_MS = 10 * 365 * 86_400_000;

type Field = 'name' | 'date';

@customElement('pw-tokens-screen')
export class PwTokensScreen extends LitElement {
  static override styles = [
    theme,
    css`
      .name {
        font-weight: 600;
      }
      .prefix {
        color: var(--pw-muted);
        white-space: nowrap;
      }
      .list-head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem 1rem;
      }
      tr.inactive td {
        color: var(--pw-muted);
      }
      tr.inactive .name {
        text-decoration: line-through;
        text-decoration-color: rgb(88 99 118 / 50%);
      }
    `,
  ];

  @property({ attribute: false }) me?: Me;

  @state() private tokens?: ApiToken[];
  @state() private all = false;
  @state() private loadError = '';
  @state() private creating = false;
  @state() private createError = '';
  @state() private invalid: Partial<Record<Field, string>> = {};
  @state() private expiry = '90';
  @state() private created?: CreatedToken;
  @state() private message: { kind: 'error' | 'success'; text: string } | undefined;
  @state() private revoking?: ApiToken;
  @state() private revokeBusy = false;
  @state() private revokeError = '';

  @query('#token-name') private nameInput!: HTMLInputElement;
  @query('#token-role') private roleSelect!: HTMLSelectElement;
  @query('#token-date') private dateInput?: HTMLInputElement;
  @query('pw-token-reveal') private reveal?: PwTokenReveal;

  private abort = new AbortController();

  override connectedCallback(): void {
    super.connectedCallback();
    this.abort = new AbortController();
    void this.load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort.abort();
  }

  private load(): Promise<void> {
    const rank = (t: ApiToken) => (tokenState(t) === 'active' ? 0 : 1);
    return settle(
      listTokens(this.all, this.abort.signal),
      (tokens) => {
        this.tokens = tokens.sort((a, b) => rank(a) - rank(b) || Date.parse(b.createdAt) - Date.parse(a.createdAt));
        this.loadError = '';
      },
      (m) => (this.loadError = m),
    );
  }

  private expiresAt(): { iso?: string; problem?: string } {
    if (this.expiry === '0') return {};
    if (this.expiry !== 'date') return { iso: new Date(Date.now() + Number(this.expiry) * 86_400_000).toISOString() };
    const v = this.dateInput?.value ?? '';
    if (!v) return { problem: 'Pick the day the token stops working.' };
    // The end of that day, local time.
    const d = new Date(`${v}T23:59:59`);
    if (Number.isNaN(d.getTime())) return { problem: 'That is not a date.' };
    if (d.getTime() <= Date.now()) return { problem: 'Pick a day in the future.' };
    if (d.getTime() - Date.now() > TEN_YEARS_MS) return { problem: 'Pick a day within ten years, or choose Never.' };
    return { iso: d.toISOString() };
  }

  private async create(e: Event): Promise<void> {
    e.preventDefault();
    if (this.creating) return;
    const name = this.nameInput.value.trim();
    const invalid: Partial<Record<Field, string>> = {};
    if (!name) invalid.name = 'Give the token a name, e.g. “grafana prod”.';
    else if (name.length > 100) invalid.name = 'Use at most 100 characters.';
    else if (/\p{Cc}/u.test(name)) invalid.name = 'Remove the control characters.';
    const exp = this.expiresAt();
    if (exp.problem) invalid.date = exp.problem;
    this.invalid = invalid;
    if (invalid.name || invalid.date) {
      this.createError = '';
      await this.updateComplete;
      (invalid.name ? this.nameInput : this.dateInput)?.focus();
      return;
    }
    this.creating = true;
    this.createError = '';
    this.message = undefined;
    try {
      const role = (this.roleSelect?.value ?? 'viewer') as Role;
      this.created = await createToken({ name, role, ...(exp.iso ? { expiresAt: exp.iso } : {}) }, this.abort.signal);
      this.nameInput.value = '';
      await this.load();
      await this.updateComplete;
      this.reveal?.focusToken();
    } catch (err) {
      if (isAbort(err)) return;
      this.createError = messageOf(err);
    } finally {
      this.creating = false;
    }
  }

  private async confirmRevoke(): Promise<void> {
    const t = this.revoking;
    if (!t || this.revokeBusy) return;
    this.revokeBusy = true;
    this.revokeError = '';
    try {
      await revokeToken(t.id, this.abort.signal);
      this.revoking = undefined;
      this.message = { kind: 'success', text: `Token “${t.name}” revoked: it is refused from now on.` };
      if (this.created?.id === t.id) this.created = undefined;
      await this.load();
    } catch (err) {
      if (isAbort(err)) return;
      this.revokeError = messageOf(err);
    } finally {
      this.revokeBusy = false;
    }
  }

  private toggleAll(e: Event): void {
    this.all = (e.target as HTMLInputElement).checked;
    this.tokens = undefined;
    void this.load();
  }

  private renderCreate() {
    const admin = this.me?.role === 'admin';
    const inv = this.invalid;
    return html`<section class="card" aria-labelledby="create-title">
      <div class="card-head">
        <h2 id="create-title">New token</h2>
        <p class="hint">For a Grafana datasource or a script. Its role cannot be above yours.</p>
      </div>
      <form @submit=${this.create} novalidate aria-busy=${ariaBusy(this.creating)}>
        <div class="fields">
          <div class="field">
            <label for="token-name">Name</label>
            <input id="token-name" type="text" maxlength="100" autocomplete="off" placeholder="grafana prod"
              aria-invalid=${inv.name ? 'true' : 'false'} aria-describedby="token-name-error" />
            ${fieldError('token-name-error', inv.name)}
          </div>
          <div class="field">
            <label for="token-role">Role</label>
            <select id="token-role">
              <option value="viewer" selected>Viewer (read only)</option>
              ${admin ? html`<option value="admin">Administrator</option>` : nothing}
            </select>
          </div>
          <div class="field">
            <label for="token-expiry">Expires</label>
            <select id="token-expiry" @change=${(e: Event) => (this.expiry = (e.target as HTMLSelectElement).value)}>
              ${EXPIRY.map((o) => html`<option value=${o.value} ?selected=${o.value === this.expiry}>${o.label}</option>`)}
            </select>
          </div>
          ${this.expiry === 'date'
            ? html`<div class="field">
                <label for="token-date">Expiry date</label>
                <input id="token-date" type="date" aria-invalid=${inv.date ? 'true' : 'false'} aria-describedby="token-date-error" />
                ${fieldError('token-date-error', inv.date)}
              </div>`
            : nothing}
        </div>
        <pw-alert class="mt" .message=${this.createError}></pw-alert>
        <div class="form-actions">
          <button type="submit" class="primary" aria-disabled=${ariaBusy(this.creating)}>${busyLabel(this.creating, 'Create token', 'Creating…')}</button>
        </div>
      </form>
    </section>`;
  }

  private renderRow(t: ApiToken) {
    const state = tokenState(t);
    return html`<tr class=${state === 'active' ? '' : 'inactive'} data-token=${t.name}>
      <td class="primary-cell" data-label="Name"><span class="name">${t.name}</span></td>
      ${this.all ? html`<td data-label="Owner">${t.username}</td>` : nothing}
      <td data-label="Token"><code class="prefix">${t.prefix}…</code></td>
      <td data-label="Role">${roleBadge(t.role)}</td>
      <td data-label="Created">${timeAgo(t.createdAt)}</td>
      <td data-label="Expires">${t.expiresAt ? html`<time datetime=${t.expiresAt}>${day(t.expiresAt)}</time>` : html`<span class="muted">never</span>`}</td>
      <td data-label="Last used">${timeAgo(t.lastUsedAt)}</td>
      <td data-label="Status">
        ${state === 'active'
          ? html`<span class="badge ok">Active</span>`
          : state === 'expired'
            ? html`<span class="badge warn">Expired</span>`
            : html`<span class="badge danger">Revoked</span>`}
      </td>
      <td class="actions">
        ${state === 'revoked'
          ? nothing
          : html`<button type="button" class="small danger-quiet" aria-label=${`Revoke ${t.name}`} @click=${() => ((this.revoking = t), (this.revokeError = ''), (this.message = undefined))}>
              Revoke
            </button>`}
      </td>
    </tr>`;
  }

  override render() {
    const tokens = this.tokens;
    const admin = this.me?.role === 'admin';
    return html`<div class="screen">
      <div class="screen-head">
        <div>
          <h1 tabindex="-1">API tokens</h1>
          <p class="lead">Tokens let Grafana and scripts call the PerfWatch API as you, with at most your role. Revoke one and it is refused from the next request on.</p>
        </div>
      </div>
      ${this.renderCreate()}
      ${this.created ? html`<pw-token-reveal .token=${this.created} @done=${() => (this.created = undefined)}></pw-token-reveal>` : nothing}
      <section class="card flush" aria-labelledby="list-title">
        <div class="card-head list-head">
          <h2 id="list-title">${this.all ? 'Everyone’s tokens' : 'Your tokens'}</h2>
          ${admin ? html`<label class="check"><input type="checkbox" .checked=${this.all} @change=${this.toggleAll} /> Show every user’s tokens</label>` : nothing}
        </div>
        <div class="table-msg"><pw-alert kind=${this.message?.kind ?? 'error'} .message=${this.message?.text ?? ''}></pw-alert></div>
        ${this.loadError
          ? html`<div class="table-msg"><pw-alert .message=${this.loadError}></pw-alert></div>`
          : !tokens
            ? html`<p class="empty"><span class="spinner" aria-hidden="true"></span> Loading tokens…</p>`
            : tokens.length === 0
              ? html`<p class="empty">No tokens yet. Create one above for Grafana.</p>`
              : html`<div class="table-wrap">
                  <table class="cards">
                    <thead>
                      <tr>
                        <th scope="col">Name</th>
                        ${this.all ? html`<th scope="col">Owner</th>` : nothing}
                        <th scope="col">Token</th>
                        <th scope="col">Role</th>
                        <th scope="col">Created</th>
                        <th scope="col">Expires</th>
                        <th scope="col">Last used</th>
                        <th scope="col">Status</th>
                        <th scope="col"><span class="sr-only">Actions</span></th>
                      </tr>
                    </thead>
                    <tbody>
                      ${tokens.map((t) => this.renderRow(t))}
                    </tbody>
                  </table>
                </div>`}
      </section>
      <pw-dialog
        .open=${this.revoking !== undefined}
        heading=${`Revoke “${this.revoking?.name ?? ''}”?`}
        confirm-label="Revoke token"
        busy-label="Revoking…"
        danger
        .busy=${this.revokeBusy}
        .error=${this.revokeError}
        @confirm=${this.confirmRevoke}
        @cancel=${() => (this.revoking = undefined)}
      >
        <p>Anything using it (a Grafana datasource, a script) is refused from its next request on. This cannot be undone.</p>
      </pw-dialog>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-tokens-screen': PwTokensScreen;
  }
}
