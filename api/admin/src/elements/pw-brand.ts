/** <pw-brand>: the PerfWatch mark and name, in the header and above the login card. */
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';

@customElement('pw-brand')
export class PwBrand extends LitElement {
  static override styles = css`
    :host {
      display: inline-flex;
      align-items: center;
      gap: 0.6rem;
      font-weight: 700;
      font-size: 1.08rem;
      letter-spacing: -0.01em;
      color: inherit;
    }
    svg {
      width: 1.9rem;
      height: 1.9rem;
      flex: none;
    }
    .sub {
      font-weight: 500;
      opacity: 0.7;
      font-size: 0.9em;
    }
  `;

  /** text after the name ("admin"). */
  @property() sub = '';

  override render() {
    return html`<svg viewBox="0 0 32 32" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="#2f5bd3" />
        <path d="M5 19h5l3-8 5 14 3-9 2 3h4" fill="none" stroke="#fff" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round" />
      </svg>
      <span>PerfWatch${this.sub ? html` <span class="sub">${this.sub}</span>` : ''}</span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-brand': PwBrand;
  }
}
