#!/usr/bin/env node
// The admin UI's size, the figure the issue budgets (JS at most 100 KB gzipped): builds the UI
// when it is stale (the same ensureAdminUi as npm start / test), then prints each JS file raw and
// gzipped (level 9) and the total against the budget. Exit 1 over budget.
//   node api/admin/bench-size.mjs            (npm run bench runs it as "admin-size")
import { ensureAdminUi, kb, sizeLine } from './build.mjs';

const { size } = ensureAdminUi({ quiet: true });
for (const f of size.files) process.stdout.write(`  ${f.file.padEnd(28)} ${kb(f.bytes).padStart(9)} raw  ${kb(f.gzipBytes).padStart(8)} gzipped\n`);
process.stdout.write(`${sizeLine(size)}\n`);
process.stdout.write(`admin_ui_js_gzip_bytes ${size.jsGzipBytes}\n`);
if (size.jsGzipBytes > size.budgetBytes) {
  process.stdout.write(`over budget by ${kb(size.jsGzipBytes - size.budgetBytes)}\n`);
  process.exit(1);
}
