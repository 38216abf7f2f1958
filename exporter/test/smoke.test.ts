import { expect } from 'chai';
import { CPU_MODES } from '@perfwatch/store';
import { ParseError } from '../src/procfs/errors.js';

describe('smoke', () => {
  it('resolves workspace sources', () => {
    expect(CPU_MODES).to.include('iowait');
    expect(new ParseError('/proc/stat', 3, 'bad').message).to.equal('/proc/stat:3: bad');
  });
});
