/** <pw-not-allowed>: a screen this role may not use (or that does not exist), reached by its address. */
import { LitElement, css, html, svg } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { Me } from '../data/types.js';
import { theme } from '../theme.js';

@customElement('pw-not-allowed')
export class PwNotAllowed extends LitElement {
  static override styles = [
    theme,
    css`
      .card {
        max-width: 36rem;
        margin: 2rem auto 0;
        text-align: center;
        padding: 2.5rem 2rem;
      }
      svg {
        width: 3rem;
        height: 3rem;
        color: var(--pw-muted);
        margin-bottom: 0.75rem;
      }
      h1 {
        margin-bottom: 0.6rem;
      }
      p {
        color: var(--pw-muted);
      }
      a {
        font-weight: 600;
      }
    `,
  ];

  @property({ attribute: false }) me?: Me;
  /** the screen asked for (its title), or empty for an unknown address. */
  @property() screen = '';

  override render() {
    const missing = !this.screen;
    return html`<section class="card" role="alert" aria-labelledby="na-title">
      <svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linecap="round" stroke-linejoin="round">
        ${missing
          ? svg`<circle cx="11" cy="11" r="7" /><path d="M20 20l-3.5-3.5M8.5 11h5" />`
          : svg`<rect x="5" y="10.5" width="14" height="10" rx="2" /><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3" />`}
      </svg>
      <h1 id="na-title" tabindex="-1">${missing ? 'No such page' : 'Not allowed'}</h1>
      <p>
        ${missing
          ? 'This address is not a page of the admin console.'
          : html`${this.screen} is for administrators. You are logged in as <strong>${this.me?.username}</strong>, a viewer.`}
      </p>
      <p><a href="#/status">Go to Status</a></p>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-not-allowed': PwNotAllowed;
  }
}
