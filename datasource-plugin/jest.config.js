process.env.TZ = 'UTC';
const base = require('./.config/jest.config');
module.exports = {
  ...base,
  transform: { ...base.transform, '^.+\\.mjs$': ['@swc/jest', { module: { type: 'commonjs' } }] },
  // The real PerfWatch api with a real PostgreSQL, started once for all test files.
  globalSetup: '<rootDir>/test/globalSetup.js',
  globalTeardown: '<rootDir>/test/globalTeardown.js',
  testTimeout: 30_000,
};
