/** <pw-account-screen>: who you are, and changing your own password (every role). */
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { Me } from '../data/types.js';
import { roleBadge } from '../format.js';
import { theme } from '../theme.js';
import './pw-password-form.js';

@customElement('pw-account-screen')
export class PwAccountScreen extends LitElement {
  static override styles = [
    theme,
    css`
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.45rem 1.5rem;
        margin: 0;
      }
      dt {
        color: var(--pw-muted);
      }
      dd {
        margin: 0;
        font-weight: 550;
      }
    `,
  ];

  @property({ attribute: false }) me?: Me;

  override render() {
    const me = this.me;
    return html`<div class="screen">
      <div class="screen-head">
        <div>
          <h1 tabindex="-1">Your account</h1>
          <p class="lead">Your login and your password. API tokens are under <a href="#/tokens">API tokens</a>.</p>
        </div>
      </div>
      <section class="card" aria-labelledby="who-title">
        <h2 id="who-title" class="sr-only">Account</h2>
        <dl>
          <dt>User name</dt>
          <dd>${me?.username}</dd>
          <dt>Role</dt>
          <dd>${roleBadge(me?.role)}</dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="pw-title">
        <div class="card-head">
          <h2 id="pw-title">Change password</h2>
          <p class="hint">Your other sessions are logged out; this one stays.</p>
        </div>
        <pw-password-form .username=${me?.username ?? ''}></pw-password-form>
      </section>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-account-screen': PwAccountScreen;
  }
}
