/** Bits every form renders the same way. */
import { html, nothing } from 'lit';

/** The message under a field (its input names it in aria-describedby). */
export function fieldError(id: string, message: string | undefined) {
  return message ? html`<p class="field-error" id=${id}>${message}</p>` : nothing;
}

/** A submit or action button's face while its request runs. */
export function busyLabel(busy: boolean, idle: string, running: string) {
  return busy ? html`<span class="spinner" aria-hidden="true"></span>${running}` : idle;
}

/** aria-disabled rather than disabled while busy: the button keeps focus for keyboard users. */
export function ariaBusy(busy: boolean): 'true' | 'false' {
  return busy ? 'true' : 'false';
}
