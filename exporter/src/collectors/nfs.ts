import type { RpcSection } from '@perfwatch/store/snapshot';
import { netProcRoot } from '../config.js';
import { readRpcStats, type RpcStats } from '../procfs/net_rpc.js';
import type { CollectContext, CollectorDefinition } from './types.js';

function pick(stats: RpcStats, keys: readonly string[]): RpcSection {
  const out: RpcSection = {};
  for (const k of keys) if (stats[k]) out[k] = stats[k];
  return out;
}

function collector(which: 'nfs' | 'nfsd', keys: readonly string[], description: string): CollectorDefinition {
  return {
    name: which,
    defaultEnabled: true,
    description,
    create: () => ({
      collect(ctx: CollectContext) {
        // /proc/net/rpc is per network namespace, like the other net files
        const stats = ctx.optional(`net/rpc/${which}`, () => readRpcStats(netProcRoot(ctx.config), which));
        return stats ? { [which]: pick(stats, keys) } : {};
      },
    }),
  };
}

export const nfs = collector('nfs', ['net', 'rpc', 'proc2', 'proc3', 'proc4'], 'NFS client RPC counts, retransmissions and calls per NFS procedure (/proc/net/rpc/nfs); absent without the nfs module');
export const nfsd = collector('nfsd', ['rc', 'fh', 'io', 'th', 'net', 'rpc', 'proc2', 'proc3', 'proc4', 'proc4ops'], 'NFS server reply cache, disk I/O, threads, RPC errors and calls per NFS procedure and NFSv4 operation (/proc/net/rpc/nfsd); absent without nfsd');
