/** Keeps README.md's configuration table true: every variable the config reads is documented. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';

describe('README configuration table', () => {
  for (const file of ['../src/config.ts', '../../api/src/config.ts']) {
  it(`lists every environment variable ${file.replace(/^[./]+/, '')} reads`, () => {
    const config = readFileSync(new URL(file, import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const vars = [...new Set([...config.matchAll(/(?:Var|value)\(env, '([A-Z_]+)'/g)].map((m) => m[1]!))];
    expect(vars.length).to.be.greaterThan(10);
    const missing = vars.filter((v) => !readme.includes(`| \`${v}\` |`));
    expect(missing, 'add these to the README configuration table').to.deep.equal([]);
  });
  }
});
