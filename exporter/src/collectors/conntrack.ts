import { join } from 'node:path';
import { netProcRoot } from '../config.js';
import { readNfConntrackStat } from '../procfs/nf_conntrack_stat.js';
import { parseSysfsInteger, readAttr } from '../procfs/sysfs.js';
import type { CollectorDefinition } from './types.js';

// node_exporter's node_nf_conntrack_stat_* set
const CONNTRACK_STATS = ['found', 'invalid', 'ignore', 'insert', 'insert_failed', 'drop', 'early_drop', 'search_restart'];

export const conntrack: CollectorDefinition = {
  name: 'conntrack',
  defaultEnabled: true,
  description: 'netfilter connection tracking entries, their limit and statistics summed over CPUs (/proc/sys/net/netfilter/nf_conntrack_{count,max}, /proc/net/stat/nf_conntrack); absent without the nf_conntrack module',
  create: () => ({
    collect(ctx) {
      const dir = join(ctx.config.procRoot, 'sys/net/netfilter');
      const n = readAttr(join(dir, 'nf_conntrack_count'), parseSysfsInteger);
      const max = readAttr(join(dir, 'nf_conntrack_max'), parseSysfsInteger);
      const stat = ctx.optional('net/stat/nf_conntrack', () => readNfConntrackStat(netProcRoot(ctx.config)));
      if (n === undefined && max === undefined && !stat) return {};
      const ct: { n?: number; max?: number; st?: Record<string, number> } = {};
      if (n !== undefined) ct.n = n;
      if (max !== undefined) ct.max = max;
      if (stat) {
        const st: Record<string, number> = {};
        for (const k of CONNTRACK_STATS) if (stat[k] !== undefined) st[k] = stat[k];
        ct.st = st;
      }
      return { ct };
    },
  }),
};
