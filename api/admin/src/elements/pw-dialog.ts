/**
 * <pw-dialog>: a modal confirmation (native <dialog>: focus moves in, stays in, and returns to
 * the button that opened it; Escape cancels). The action runs while it stays open, so its
 * progress and, when it fails, the API's message show here. Fields for the action go in the
 * default slot. Events: `confirm` and `cancel`; the owner sets `open`, `busy` and `error`.
 */
import { LitElement, css, html } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { ariaBusy, busyLabel } from '../forms.js';
import { theme } from '../theme.js';
import './pw-alert.js';

@customElement('pw-dialog')
export class PwDialog extends LitElement {
  static override styles = [
    theme,
    css`
      dialog {
        border: 0;
        padding: 0;
        border-radius: 12px;
        width: min(30rem, calc(100vw - 2rem));
        color: var(--pw-text);
        box-shadow: 0 20px 50px rgb(15 23 42 / 28%);
      }
      dialog::backdrop {
        background: rgb(15 23 42 / 45%);
      }
      .body {
        padding: 1.35rem 1.5rem 0.5rem;
        display: flex;
        flex-direction: column;
        gap: 0.85rem;
      }
      h2 {
        font-size: 1.15rem;
        margin: 0;
      }
      footer {
        display: flex;
        flex-wrap: wrap-reverse;
        justify-content: flex-end;
        gap: 0.6rem;
        padding: 1rem 1.5rem 1.35rem;
      }
      @media (max-width: 480px) {
        footer button {
          flex: 1 1 100%;
        }
      }
    `,
  ];

  @property() heading = '';
  @property({ attribute: 'confirm-label' }) confirmLabel = 'Confirm';
  @property({ attribute: 'busy-label' }) busyLabel = 'Working…';
  @property({ type: Boolean }) danger = false;
  @property({ type: Boolean }) open = false;
  @property({ type: Boolean }) busy = false;
  @property() error = '';

  @query('dialog') private dialog!: HTMLDialogElement;

  protected override updated(changed: Map<string, unknown>): void {
    if (changed.has('open')) {
      if (this.open && !this.dialog.open) this.dialog.showModal();
      else if (!this.open && this.dialog.open) this.dialog.close();
    }
  }

  private cancel(e?: Event): void {
    e?.preventDefault();
    if (this.busy) return;
    this.dispatchEvent(new CustomEvent('cancel', { bubbles: false }));
  }

  /** Closed by the browser itself (a second Escape is not cancelable): tell the owner. */
  private closed(): void {
    if (this.open) this.dispatchEvent(new CustomEvent('cancel', { bubbles: false }));
  }

  private confirm(): void {
    if (this.busy) return;
    this.dispatchEvent(new CustomEvent('confirm', { bubbles: false }));
  }

  override render() {
    return html`<dialog aria-labelledby="title" @cancel=${this.cancel} @close=${this.closed} @keydown=${(e: KeyboardEvent) => e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT' && (e.preventDefault(), this.confirm())}>
      <div class="body">
        <h2 id="title">${this.heading}</h2>
        <slot></slot>
        <pw-alert .message=${this.error}></pw-alert>
      </div>
      <footer>
        <button type="button" @click=${() => this.cancel()} aria-disabled=${ariaBusy(this.busy)}>Cancel</button>
        <button type="button" class=${this.danger ? 'danger' : 'primary'} @click=${this.confirm} aria-disabled=${ariaBusy(this.busy)} data-confirm>
          ${busyLabel(this.busy, this.confirmLabel, this.busyLabel)}
        </button>
      </footer>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pw-dialog': PwDialog;
  }
}
