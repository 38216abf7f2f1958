import { netProcRoot } from '../config.js';
import { readNetNetstat, readNetSnmp } from '../procfs/netstat.js';
import type { CollectorDefinition } from './types.js';

export const netstat: CollectorDefinition = {
  name: 'netstat',
  defaultEnabled: true,
  description: 'TCP, UDP and IP counters from /proc/net/snmp and /proc/net/netstat (fields chosen by PERFWATCH_NETSTAT_FIELDS)',
  create: () => {
    // ~300 fields every collection: decide each key once.
    const wanted = new Map<string, boolean>();
    return {
    collect(ctx) {
      const { netstatFields } = ctx.config;
      const procRoot = netProcRoot(ctx.config);
      const snmp = ctx.optional('net/snmp', () => readNetSnmp(procRoot));
      const ext = ctx.optional('net/netstat', () => readNetNetstat(procRoot));
      if (!snmp && !ext) return {};
      const nstat: Record<string, number> = {};
      for (const tables of [snmp, ext]) {
        for (const [proto, fields] of Object.entries(tables ?? {})) {
          for (const [field, v] of Object.entries(fields)) {
            const key = `${proto}_${field}`;
            let want = wanted.get(key);
            if (want === undefined) wanted.set(key, (want = netstatFields.test(key)));
            if (want) nstat[key] = v;
          }
        }
      }
      return { nstat };
    },
    };
  },
};
