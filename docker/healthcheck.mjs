#!/usr/bin/env node
// The images' HEALTHCHECK: exits 0 when the URL answers 2xx within 3 s, else 1 with the reason on
// stderr (node:20-bookworm-slim has neither curl nor wget). Usage: healthcheck.mjs <url>
const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: healthcheck.mjs <url>\n');
  process.exit(2);
}
// A connection the server drops can leave fetch's promise unsettled with nothing keeping the event
// loop alive (Node then exits 13 without a word): a referenced timer answers 1 with the reason.
const guard = setTimeout(() => {
  process.stderr.write(`${url}: no answer within 4 s\n`);
  process.exit(1);
}, 4000);
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) {
    process.stderr.write(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}\n`);
    process.exit(1);
  }
  clearTimeout(guard);
  process.exit(0);
} catch (err) {
  process.stderr.write(`${url}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}\n`);
  process.exit(1);
}
