/** The event catalog carries the uapi numbers perf itself uses. */
import { expect } from 'chai';

import { EVENT_NAMES, EVENTS, HARDWARE_EVENTS, isEventName, PERF_TYPE, resolveEvent, SOFTWARE_EVENTS, SUGGESTED_GROUPS, PerfError } from '../lib/index.js';

describe('event catalog', function () {
  it('holds the issue\'s events with perf_event.h numbers', function () {
    const want: Record<string, [number, number, string]> = {
      'cpu-cycles': [0, 0, 'hardware'],
      instructions: [0, 1, 'hardware'],
      'cache-references': [0, 2, 'hardware'],
      'cache-misses': [0, 3, 'hardware'],
      'branch-instructions': [0, 4, 'hardware'],
      'branch-misses': [0, 5, 'hardware'],
      'stalled-cycles-frontend': [0, 7, 'hardware'],
      'stalled-cycles-backend': [0, 8, 'hardware'],
      'ref-cycles': [0, 9, 'hardware'],
      'L1-dcache-load-misses': [3, 0x10000, 'cache'],
      'LLC-load-misses': [3, 0x10002, 'cache'],
      'dTLB-load-misses': [3, 0x10003, 'cache'],
      'cpu-clock': [1, 0, 'software'],
      'task-clock': [1, 1, 'software'],
      'page-faults': [1, 2, 'software'],
      'context-switches': [1, 3, 'software'],
      'cpu-migrations': [1, 4, 'software'],
      'minor-faults': [1, 5, 'software'],
      'major-faults': [1, 6, 'software'],
    };
    expect([...EVENT_NAMES].sort()).to.deep.equal(Object.keys(want).sort());
    for (const [name, [type, config, kind]] of Object.entries(want)) {
      expect(EVENTS[name as keyof typeof EVENTS], name).to.include({ name, type, config, kind });
    }
    expect(EVENTS['task-clock'].unit).to.equal('nanoseconds');
    expect(SOFTWARE_EVENTS.length + HARDWARE_EVENTS.length).to.equal(EVENT_NAMES.length);
  });

  it('suggests groups that cover every event once, ratio partners together', function () {
    const all = SUGGESTED_GROUPS.flat();
    expect([...all].sort()).to.deep.equal([...EVENT_NAMES].sort());
    expect(SUGGESTED_GROUPS.some((g) => g.includes('cpu-cycles') && g.includes('instructions'))).to.equal(true);
    expect(SUGGESTED_GROUPS.some((g) => g.includes('cache-references') && g.includes('cache-misses'))).to.equal(true);
    expect(SUGGESTED_GROUPS.some((g) => g.includes('branch-instructions') && g.includes('branch-misses'))).to.equal(true);
  });

  it('resolves names and custom events, rejects the rest', function () {
    expect(isEventName('instructions')).to.equal(true);
    expect(isEventName('toString')).to.equal(false);
    expect(resolveEvent('instructions')).to.equal(EVENTS.instructions);
    expect(resolveEvent({ name: 'r01c2', type: PERF_TYPE.RAW, config: 0x01c2n })).to.include({ name: 'r01c2', type: 4, kind: 'raw', unit: 'count' });
    expect(() => resolveEvent('nope' as 'instructions')).to.throw(PerfError, 'unknown event "nope"');
    expect(() => resolveEvent({ name: '', type: 1, config: 0 })).to.throw(PerfError);
    expect(() => resolveEvent({ name: 'x', type: 1, config: -1 })).to.throw(PerfError);
  });
});
