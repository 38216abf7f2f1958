process.env.TZ = 'UTC';
const base = require('./.config/jest.config');
module.exports = { ...base, transform: { ...base.transform,
  '^.+\\.mjs$': ['@swc/jest', { module: { type: 'commonjs' } }] } };
