/**
 * <pw-alert>: the message an action leaves (its result or the API's reason for refusing). The
 * live region is always in the page, so screen readers announce each new message: errors
 * assertively (role=alert), the rest politely (role=status). Empty: nothing shows.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';

export type AlertKind = 'error' | 'success' | 'info';

@customElement('pw-alert')
export class PwAlert extends LitElement {
  static override styles = css`
    :host {
      display: block;
    }
    /* No gap where there is no message; role=alert announces when it appears. */
    :host([empty]) {
      display: none;
    }
    .msg {
      display: flex;
      gap: 0.6rem;
      align-items: flex-start;
      padding: 0.7rem 0.9rem;
      border-radius: 8px;
      border: 1px solid;
      font-size: 0.92rem;
      line-height: 1.45;
    }
    .error {
      background: var(--pw-danger-soft);
      border-color: #f3c0bb;
      color: #8c1c13;
    }
    .success {
      background: var(--pw-ok-soft);
      border-color: #b7dfc8;
      color: #135e3c;
    }
    .info {
      background: var(--pw-accent-soft);
      border-color: #c9d6f7;
      color: #1f3f94;
    }
    svg {
      flex: none;
      width: 1.1rem;
      height: 1.1rem;
      margin-top: 0.1rem;
    }
  `;

  @property() kind: AlertKind = 'error';
  @property() message = '';

  protected override willUpdate(): void {
    this.toggleAttribute('empty', !this.message);
  }

  private icon() {
    if (this.kind === 'success') return html`<svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="9" fill="currentColor" opacity=".15"/><path d="M6 10.5l2.5 2.5L14 7.5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
    if (this.kind === 'info') return html`<svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="9" fill="currentColor" opacity=".15"/><path d="M10 9v5M10 6v.5" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>`;
    return html`<svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="9" fill="currentColor" opacity=".15"/><path d="M10 5.5v5.5M10 14v.5" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>`;
  }

  override render() {
    return html`<div role=${this.kind === 'error' ? 'alert' : 'status'}>
      ${this.message ? html`<div class="msg ${this.kind}">${this.icon()}<span>${this.message}</span></div>` : nothing}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-alert': PwAlert;
  }
}
