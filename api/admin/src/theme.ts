/**
 * Styles every element shares: type, cards, forms, buttons, tables, badges. Each element puts
 * `static styles = [theme, css`...its own...`]`, so its own layout stays in its file while forms
 * and buttons look the same everywhere. Colours come from custom properties on :root (page.css),
 * which inherit into shadow roots.
 */
import { css } from 'lit';

export const theme = css`
  :host {
    display: block;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  [hidden] {
    display: none !important;
  }

  h1 {
    font-size: 1.55rem;
    line-height: 1.25;
    font-weight: 650;
    letter-spacing: -0.01em;
    margin: 0;
  }
  h1:focus {
    outline: none;
  }
  h2 {
    font-size: 1.05rem;
    font-weight: 650;
    margin: 0 0 0.25rem;
  }
  p {
    margin: 0 0 0.75rem;
  }
  a {
    color: var(--pw-accent);
  }
  code,
  .mono {
    font-family: var(--pw-mono);
    font-size: 0.9em;
  }
  .muted {
    color: var(--pw-muted);
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }

  /* Screen layout: a header (title, lead) and cards below, 1.25rem apart. */
  .screen {
    display: flex;
    flex-direction: column;
    gap: 1.25rem;
  }
  .screen-head {
    display: flex;
    flex-wrap: wrap;
    align-items: flex-end;
    justify-content: space-between;
    gap: 0.75rem 1.5rem;
  }
  .lead {
    margin: 0.35rem 0 0;
    color: var(--pw-muted);
    max-width: 62ch;
  }
  .card {
    background: var(--pw-surface);
    border: 1px solid var(--pw-border);
    border-radius: var(--pw-radius);
    box-shadow: var(--pw-shadow);
    padding: 1.25rem 1.35rem;
    min-width: 0;
  }
  .card-head {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    justify-content: space-between;
    gap: 0.5rem 1rem;
    margin-bottom: 1rem;
  }
  .card-head p {
    margin: 0;
  }
  .card.flush {
    padding: 0;
    overflow: hidden;
  }
  .card.flush > .card-head {
    padding: 1.1rem 1.35rem 0;
  }

  /* Forms */
  form {
    margin: 0;
  }
  .fields {
    display: grid;
    gap: 1rem;
    grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr));
    align-items: start;
  }
  .field {
    display: flex;
    flex-direction: column;
    gap: 0.35rem;
    min-width: 0;
  }
  label,
  .label {
    font-weight: 600;
    font-size: 0.88rem;
  }
  .hint {
    font-size: 0.83rem;
    color: var(--pw-muted);
    margin: 0;
  }
  .field-error {
    font-size: 0.83rem;
    color: var(--pw-danger);
    margin: 0;
    font-weight: 500;
  }
  input[type='text'],
  input[type='password'],
  input[type='number'],
  input[type='date'],
  select {
    font: inherit;
    color: inherit;
    width: 100%;
    min-height: 2.5rem;
    padding: 0.45rem 0.7rem;
    border: 1px solid var(--pw-input-border);
    border-radius: 7px;
    background: var(--pw-surface);
    transition: border-color 0.12s, box-shadow 0.12s;
  }
  select {
    appearance: none;
    padding-right: 2rem;
    background-image: linear-gradient(45deg, transparent 50%, var(--pw-muted) 50%), linear-gradient(135deg, var(--pw-muted) 50%, transparent 50%);
    background-position: calc(100% - 15px) 55%, calc(100% - 10px) 55%;
    background-size: 5px 5px, 5px 5px;
    background-repeat: no-repeat;
  }
  input:hover,
  select:hover {
    border-color: #8e99ab;
  }
  input:focus,
  select:focus {
    outline: none;
    border-color: var(--pw-accent);
    box-shadow: var(--pw-focus);
  }
  input[aria-invalid='true'] {
    border-color: var(--pw-danger);
  }
  input[readonly] {
    background: var(--pw-subtle);
  }
  input:disabled,
  select:disabled {
    background: var(--pw-subtle);
    color: var(--pw-muted);
  }
  .check {
    display: flex;
    align-items: flex-start;
    gap: 0.55rem;
    font-weight: 500;
    font-size: 0.92rem;
    cursor: pointer;
  }
  .check input {
    width: 1.05rem;
    height: 1.05rem;
    margin: 0.2rem 0 0;
    accent-color: var(--pw-accent);
    flex: none;
  }
  .form-actions {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.75rem;
    margin-top: 1.25rem;
  }
  .mt {
    margin-top: 1rem;
  }

  /* Buttons: primary (one per form), secondary, danger; .small in table rows. */
  button {
    font: inherit;
    font-weight: 600;
    font-size: 0.93rem;
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 0.5rem;
    min-height: 2.5rem;
    padding: 0.4rem 1rem;
    border-radius: 7px;
    border: 1px solid var(--pw-input-border);
    background: var(--pw-surface);
    color: var(--pw-text);
    cursor: pointer;
    white-space: nowrap;
    transition: background 0.12s, border-color 0.12s, box-shadow 0.12s;
  }
  button:hover {
    background: var(--pw-subtle);
    border-color: #8e99ab;
  }
  button:focus-visible,
  a:focus-visible,
  summary:focus-visible {
    outline: none;
    box-shadow: var(--pw-focus);
  }
  button.primary {
    background: var(--pw-accent);
    border-color: var(--pw-accent);
    color: #fff;
  }
  button.primary:hover {
    background: var(--pw-accent-hover);
    border-color: var(--pw-accent-hover);
  }
  button.danger {
    background: var(--pw-danger);
    border-color: var(--pw-danger);
    color: #fff;
  }
  button.danger:hover {
    background: #912018;
  }
  button.danger-quiet {
    color: var(--pw-danger);
    border-color: #efc4c0;
  }
  button.danger-quiet:hover {
    background: var(--pw-danger-soft);
    border-color: var(--pw-danger);
  }
  button.link {
    border: 0;
    background: none;
    color: var(--pw-accent);
    padding: 0.25rem 0.4rem;
    min-height: auto;
    text-decoration: underline;
    text-underline-offset: 2px;
  }
  button.small {
    min-height: 2rem;
    padding: 0.2rem 0.7rem;
    font-size: 0.85rem;
  }
  button[aria-disabled='true'],
  button:disabled {
    opacity: 0.6;
    cursor: not-allowed;
  }
  .spinner {
    width: 0.95em;
    height: 0.95em;
    border: 2px solid currentColor;
    border-right-color: transparent;
    border-radius: 50%;
    display: inline-block;
    animation: spin 0.7s linear infinite;
    flex: none;
  }
  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .spinner {
      animation-duration: 2.5s;
    }
  }

  /* Tables: rows become labelled cards below 760px (each td has data-label). */
  .table-wrap {
    overflow-x: auto;
  }
  table {
    width: 100%;
    border-collapse: collapse;
    font-size: 0.92rem;
  }
  th {
    text-align: left;
    font-size: 0.76rem;
    font-weight: 650;
    text-transform: uppercase;
    letter-spacing: 0.04em;
    color: var(--pw-muted);
    background: var(--pw-subtle);
    padding: 0.6rem 0.9rem;
    border-bottom: 1px solid var(--pw-border);
    white-space: nowrap;
  }
  td {
    padding: 0.7rem 0.9rem;
    border-bottom: 1px solid var(--pw-border);
    vertical-align: middle;
  }
  tbody tr:last-child td {
    border-bottom: 0;
  }
  tbody tr:hover {
    background: #fafbfd;
  }
  td.actions {
    text-align: right;
  }
  .row-actions {
    display: inline-flex;
    flex-wrap: wrap;
    justify-content: flex-end;
    gap: 0.4rem;
  }
  /* A message (pw-alert) above a flush card's table; no gap while it is empty. */
  .table-msg {
    padding: 0 1.35rem 1rem;
  }
  .table-msg:has(pw-alert[empty]) {
    display: none;
  }
  .empty {
    padding: 2rem 1.35rem;
    text-align: center;
    color: var(--pw-muted);
  }
  @media (max-width: 760px) {
    table.cards thead {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip: rect(0 0 0 0);
    }
    table.cards,
    table.cards tbody,
    table.cards tr,
    table.cards td {
      display: block;
      width: 100%;
    }
    table.cards tr {
      padding: 0.8rem 1.1rem;
      border-bottom: 1px solid var(--pw-border);
    }
    table.cards tbody tr:last-child {
      border-bottom: 0;
    }
    table.cards td {
      border: 0;
      padding: 0.22rem 0;
      display: flex;
      align-items: center;
      justify-content: space-between;
      gap: 1rem;
      text-align: right;
    }
    table.cards td::before {
      content: attr(data-label);
      font-size: 0.78rem;
      font-weight: 650;
      text-transform: uppercase;
      letter-spacing: 0.04em;
      color: var(--pw-muted);
      text-align: left;
      flex: none;
    }
    table.cards td.primary-cell {
      font-size: 1rem;
      padding-bottom: 0.4rem;
      justify-content: flex-start;
      text-align: left;
    }
    table.cards td.primary-cell::before {
      display: none;
    }
    table.cards td.actions {
      padding-top: 0.6rem;
      justify-content: flex-start;
    }
    table.cards td.actions::before {
      display: none;
    }
    table.cards .row-actions {
      justify-content: flex-start;
    }
    table.cards td select {
      width: auto;
      min-width: 8rem;
    }
  }

  /* Badges */
  .badge {
    display: inline-flex;
    align-items: center;
    gap: 0.3rem;
    padding: 0.1rem 0.55rem;
    border-radius: 999px;
    font-size: 0.76rem;
    font-weight: 650;
    line-height: 1.5;
    background: #edf0f5;
    color: #3a4456;
    white-space: nowrap;
  }
  .badge.ok {
    background: var(--pw-ok-soft);
    color: var(--pw-ok);
  }
  .badge.danger {
    background: var(--pw-danger-soft);
    color: var(--pw-danger);
  }
  .badge.warn {
    background: var(--pw-warn-soft);
    color: var(--pw-warn);
  }
  .badge.accent {
    background: var(--pw-accent-soft);
    color: var(--pw-accent-hover);
  }
  .dot {
    width: 0.55rem;
    height: 0.55rem;
    border-radius: 50%;
    background: currentColor;
    flex: none;
  }
`;
