/**
 * <pw-token-reveal>: a new API token, shown this once, with a copy button and where to paste it.
 * Fires `done` when dismissed; after that the token cannot be shown again.
 */
import { LitElement, css, html } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { CreatedToken } from '../data/types.js';
import { theme } from '../theme.js';

@customElement('pw-token-reveal')
export class PwTokenReveal extends LitElement {
  static override styles = [
    theme,
    css`
      .card {
        border-color: #9fd3b6;
        box-shadow: 0 0 0 3px var(--pw-ok-soft);
      }
      h2 {
        display: flex;
        align-items: center;
        gap: 0.5rem;
      }
      .row {
        display: flex;
        gap: 0.5rem;
        margin: 0.9rem 0 0.6rem;
      }
      input {
        flex: 1;
        min-width: 0;
        font-family: var(--pw-mono);
        font-size: 0.9rem;
      }
      .copied {
        color: var(--pw-ok);
        font-weight: 600;
      }
      .warn {
        color: var(--pw-warn);
        font-weight: 600;
      }
      @media (max-width: 480px) {
        .row {
          flex-direction: column;
        }
      }
    `,
  ];

  @property({ attribute: false }) token?: CreatedToken;
  @state() private copied = '';
  @query('input') private input!: HTMLInputElement;

  focusToken(): void {
    this.input.focus();
    this.input.select();
  }

  private async copy(): Promise<void> {
    const t = this.token?.token ?? '';
    try {
      await navigator.clipboard.writeText(t);
      this.copied = 'Copied to the clipboard.';
    } catch {
      // No clipboard access (plain http on another host): leave it selected for Ctrl+C.
      this.focusToken();
      this.copied = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
  }

  override render() {
    const t = this.token;
    if (!t) return html``;
    return html`<section class="card" aria-labelledby="reveal-title">
      <h2 id="reveal-title">Token “${t.name}” created</h2>
      <p class="warn">Copy it now: it is shown only this once.</p>
      <div class="row">
        <label class="sr-only" for="token-value">The new API token</label>
        <input id="token-value" type="text" readonly .value=${t.token} spellcheck="false" @focus=${(e: FocusEvent) => (e.target as HTMLInputElement).select()} />
        <button type="button" class="primary" @click=${this.copy}>Copy</button>
      </div>
      <p class="hint">Paste this into the Grafana datasource's <strong>API token</strong> field (or send it as <code>Authorization: Bearer …</code>).</p>
      <p class="copied" role="status">${this.copied}</p>
      <button type="button" @click=${() => this.dispatchEvent(new CustomEvent('done'))}>I have copied it</button>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-token-reveal': PwTokenReveal;
  }
}
