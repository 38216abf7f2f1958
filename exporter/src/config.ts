/**
 * The exporter's configuration: the one place that reads the environment. Every key has a typed
 * default and a comment; README.md's configuration table lists the same variables. A bad value
 * throws ConfigError naming the variable and what it accepts, and main.ts exits non-zero with it.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  boolVar,
  ConfigError,
  enumVar,
  intVar,
  listVar,
  numberVar,
  pathVar,
  postgresUrlVar,
  regexVar,
  schemaVar,
  value,
  type Env,
} from '@perfwatch/store/env';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ExporterConfig {
  /** PERFWATCH_EXPORTER_PORT: port of /metrics and /health (9101; 0 picks a free port). */
  port: number;
  /** PERFWATCH_EXPORTER_HOST: listen address ("0.0.0.0": every interface, as node_exporter). */
  listenHost: string;
  /** PERFWATCH_INTERVAL_SECONDS: seconds between collections, 1..3600 (5). */
  intervalSeconds: number;
  /** BACKGROUND_COLLECTION_ENABLED: collect every interval even without scrapes, feeding the
   *  database writer and live stream (true). When false, every scrape collects (node_exporter's way). */
  backgroundCollection: boolean;
  /** PERFWATCH_HOSTNAME: the host name written into snapshots (os.hostname()). */
  hostname: string;
  /** PERFWATCH_PROC_ROOT: where procfs is mounted (/proc; /host/proc in a container). */
  procRoot: string;
  /** PERFWATCH_NET_NAMESPACE_PID: read /proc/net/* (netdev, netstat, sockstat) as
   *  <procRoot>/<pid>/net, the network namespace of that process, instead of this process's own
   *  (unset). In a container with `pid: host`, 1 gives the host's network counters. */
  netNamespacePid: number | undefined;
  /** PERFWATCH_SYS_ROOT: where sysfs is mounted (/sys; /host/sys in a container). */
  sysRoot: string;
  /** PERFWATCH_ROOTFS: prefix for mount points when calling statfs (/; /host/root in a container). */
  rootfs: string;
  /** PERFWATCH_WEB_CONFIG_FILE: exporter-toolkit web config (node_exporter's --web.config.file):
   *  TLS, client CA, bcrypt basic-auth users, headers (webconfig.ts); unset: plain HTTP, no auth. */
  webConfigFile: string | undefined;
  /** PERFWATCH_TEXTFILE_DIR: directory whose *.prom files the textfile collector reads at every
   *  collection, node_exporter's --collector.textfile.directory (unset: none). */
  textfileDir: string | undefined;
  /** PERFWATCH_COLLECTORS: comma-separated collectors to run; empty means the default set. */
  collectors: string[] | undefined;
  /** PERFWATCH_DISK_EXCLUDE: block devices to leave out (partitions, loop, ram, zram, floppy). */
  diskExclude: RegExp;
  /** PERFWATCH_NETDEV_EXCLUDE: network interfaces to leave out (lo and veth pairs). */
  netdevExclude: RegExp;
  /** PERFWATCH_NETSTAT_FIELDS: "Proto_Field" names of /proc/net/{snmp,netstat} to export. */
  netstatFields: RegExp;
  /** PERFWATCH_FS_MOUNT_EXCLUDE: mount points to leave out (kernel and container internals). */
  fsMountExclude: RegExp;
  /** PERFWATCH_FS_TYPE_EXCLUDE: filesystem types to leave out (pseudo filesystems). */
  fsTypeExclude: RegExp;
  /** PERFWATCH_FS_TIMEOUT_SECONDS: statfs of one mount may take this long before it is reported
   *  as hung and skipped until it answers (1). */
  fsTimeoutSeconds: number;
  /** PERFWATCH_LOG_LEVEL: pino level (info). */
  logLevel: LogLevel;
  /** PERFWATCH_PERF_EVENTS: perf events to count, comma-separated names from docs/perf.md, checked
   *  by the perf collector against its catalog (cpu-cycles, instructions, cache-references,
   *  cache-misses, branch-instructions, branch-misses, task-clock, context-switches, cpu-migrations,
   *  page-faults, major-faults). */
  perfEvents: string[];
  /** PERFWATCH_PERF_CGROUPS: cgroup v2 directories whose tasks are counted separately on every CPU (none). */
  perfCgroups: string[];
  /** PERFWATCH_PERF_FD_BUDGET: most fds the perf collector may hold, events x CPUs x (1 + cgroups);
   *  over it nothing is opened and every event reports "fd budget" (4096). RLIMIT_NOFILE also applies. */
  perfFdBudget: number;
  /** PERFWATCH_PERF_RECHECK_SECONDS: how often events and CPUs that could not be counted are tried again (60). */
  perfRecheckSeconds: number;
  /** PERFWATCH_CGROUP_INCLUDE: cgroup paths (relative to the hierarchy, "/system.slice/nginx.service")
   *  the cgroup collector reads; unset: all. */
  cgroupInclude: RegExp | undefined;
  /** PERFWATCH_CGROUP_EXCLUDE: cgroup paths to leave out (mount and swap units, which run no processes). */
  cgroupExclude: RegExp;
  /** PERFWATCH_CGROUP_MAX: most cgroups with series of their own; the rest are summed into cgroup="other" (200). */
  cgroupMax: number;
  /** PERFWATCH_PROCESS_TOP: command-name and cgroup groups of processes exported, the top this many by
   *  CPU since the last collection and the top this many by resident memory (20). */
  processTop: number;
  /** PERFWATCH_PERF_CGROUP_DISCOVERY: the perf collector also counts the cgroups it discovers (v2, or
   *  a v1 host's perf_event or unified hierarchy; PERFWATCH_CGROUP_INCLUDE/_EXCLUDE/_MAX apply), as
   *  many as PERFWATCH_PERF_FD_BUDGET allows, re-planned at each re-check (false). */
  perfCgroupDiscovery: boolean;
  /** DATABASE_URL: PostgreSQL to write snapshots to (unset: no history is written; `npm start`
   *  sets it to its embedded PostgreSQL). */
  databaseUrl: string | undefined;
  /** PERFWATCH_DB_SCHEMA: schema holding PerfWatch's tables (perfwatch). */
  dbSchema: string;
  /** PERFWATCH_DB_MIGRATE: apply migrations at start; false only checks the schema version (true). */
  dbMigrate: boolean;
  /** PERFWATCH_DB_POOLER: "transaction" when DATABASE_URL leads to pgbouncer in transaction pooling
   *  mode (a fleet, docs/scaling.md): the writer then sends no session settings and migrates only
   *  over PERFWATCH_DB_MIGRATE_URL ("none": a direct connection). */
  dbPooler: 'none' | 'transaction';
  /** PERFWATCH_DB_MIGRATE_URL: a direct PostgreSQL URL (not through a pooler) for the migrations,
   *  which need a session of their own (unset: DATABASE_URL). */
  dbMigrateUrl: string | undefined;
  /** PERFWATCH_DB_POOL_MAX: connections the writer may hold, 1..16 (2). */
  dbPoolMax: number;
  /** PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS: give up connecting after this long (5). */
  dbConnectTimeoutSeconds: number;
  /** PERFWATCH_DB_STATEMENT_TIMEOUT_SECONDS: server-side limit of one statement (30). */
  dbStatementTimeoutSeconds: number;
  /** PERFWATCH_DATA_DIR: the exporter's own files; the spool lives in <dir>/spool (/var/lib/perfwatch). */
  dataDir: string;
  /** PERFWATCH_SPOOL_MAX_BYTES: bound of the on-disk spool used while the database is unreachable;
   *  beyond it the oldest snapshots are dropped and counted (268435456: ~40 h of a 2-CPU host at 5 s). */
  spoolMaxBytes: number;
  /** PERFWATCH_WRITER_BATCH_SIZE: snapshots per INSERT (100). */
  writerBatchSize: number;
  /** PERFWATCH_WRITER_FLUSH_SECONDS: longest a snapshot waits for its batch (1). */
  writerFlushSeconds: number;
}

export const DEFAULTS = {
  port: 9101,
  listenHost: '0.0.0.0',
  intervalSeconds: 5,
  backgroundCollection: true,
  procRoot: '/proc',
  sysRoot: '/sys',
  rootfs: '/',
  // As node_exporter's diskstats defaults: whole disks only.
  diskExclude: '^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p|mmcblk\\d+p)\\d+$',
  netdevExclude: '^(lo|veth.*)$',
  // TCP, UDP and IP counters in full, plus the TcpExt/IpExt fields people alert on.
  netstatFields:
    '^(Ip|Tcp|Udp)_.+$|^IpExt_(InOctets|OutOctets)$|^TcpExt_(ListenOverflows|ListenDrops|SyncookiesSent|SyncookiesRecv|SyncookiesFailed|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop|TCPBacklogDrop)$',
  // As node_exporter's filesystem defaults.
  fsMountExclude: '^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)',
  fsTypeExclude:
    '^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$',
  fsTimeoutSeconds: 1,
  logLevel: 'info' as LogLevel,
  // IPC (cycles, instructions), cache and branch miss ratios, and the software events that work
  // everywhere, VMs included. 11 events: 22 fds on 2 CPUs, 704 on 64.
  perfEvents: [
    'cpu-cycles', 'instructions', 'cache-references', 'cache-misses', 'branch-instructions', 'branch-misses',
    'task-clock', 'context-switches', 'cpu-migrations', 'page-faults', 'major-faults',
  ],
  perfFdBudget: 4096,
  perfRecheckSeconds: 60,
  cgroupExclude: '\\.(mount|swap)$',
  cgroupMax: 200,
  processTop: 20,
  perfCgroupDiscovery: false,
  dbSchema: 'perfwatch',
  dbMigrate: true,
  dbPooler: 'none' as 'none' | 'transaction',
  dbPoolMax: 2,
  dbConnectTimeoutSeconds: 5,
  dbStatementTimeoutSeconds: 30,
  dataDir: '/var/lib/perfwatch',
  spoolMaxBytes: 268_435_456,
  writerBatchSize: 100,
  writerFlushSeconds: 1,
} as const;

/** Absolute paths, comma-separated; empty when unset. */
export function pathListVar(env: Env, name: string): string[] {
  const paths = listVar(env, name) ?? [];
  const bad = paths.find((p) => !p.startsWith('/'));
  if (bad !== undefined) throw new ConfigError(name, `"${bad}" must be an absolute path`);
  return [...new Set(paths)];
}

/** Where the network collectors read `net/...`: procfs itself (/proc/net = this process's
 *  namespace), or /proc/<pid> for PERFWATCH_NET_NAMESPACE_PID. */
export function netProcRoot(config: Pick<ExporterConfig, 'procRoot' | 'netNamespacePid'>): string {
  return config.netNamespacePid === undefined ? config.procRoot : join(config.procRoot, String(config.netNamespacePid));
}

export function loadConfig(env: Env): ExporterConfig {
  const config: ExporterConfig = {
    port: intVar(env, 'PERFWATCH_EXPORTER_PORT', DEFAULTS.port, 0, 65535),
    listenHost: value(env, 'PERFWATCH_EXPORTER_HOST') ?? DEFAULTS.listenHost,
    intervalSeconds: numberVar(env, 'PERFWATCH_INTERVAL_SECONDS', DEFAULTS.intervalSeconds, 1, 3600),
    backgroundCollection: boolVar(env, 'BACKGROUND_COLLECTION_ENABLED', DEFAULTS.backgroundCollection),
    hostname: value(env, 'PERFWATCH_HOSTNAME') ?? hostname(),
    procRoot: pathVar(env, 'PERFWATCH_PROC_ROOT', DEFAULTS.procRoot),
    netNamespacePid: value(env, 'PERFWATCH_NET_NAMESPACE_PID') === undefined ? undefined : intVar(env, 'PERFWATCH_NET_NAMESPACE_PID', 1, 1, 4_194_304),
    sysRoot: pathVar(env, 'PERFWATCH_SYS_ROOT', DEFAULTS.sysRoot),
    rootfs: pathVar(env, 'PERFWATCH_ROOTFS', DEFAULTS.rootfs),
    webConfigFile: value(env, 'PERFWATCH_WEB_CONFIG_FILE') === undefined ? undefined : pathVar(env, 'PERFWATCH_WEB_CONFIG_FILE', '/'),
    textfileDir: value(env, 'PERFWATCH_TEXTFILE_DIR') === undefined ? undefined : pathVar(env, 'PERFWATCH_TEXTFILE_DIR', '/'),
    collectors: listVar(env, 'PERFWATCH_COLLECTORS'),
    diskExclude: regexVar(env, 'PERFWATCH_DISK_EXCLUDE', DEFAULTS.diskExclude),
    netdevExclude: regexVar(env, 'PERFWATCH_NETDEV_EXCLUDE', DEFAULTS.netdevExclude),
    netstatFields: regexVar(env, 'PERFWATCH_NETSTAT_FIELDS', DEFAULTS.netstatFields),
    fsMountExclude: regexVar(env, 'PERFWATCH_FS_MOUNT_EXCLUDE', DEFAULTS.fsMountExclude),
    fsTypeExclude: regexVar(env, 'PERFWATCH_FS_TYPE_EXCLUDE', DEFAULTS.fsTypeExclude),
    fsTimeoutSeconds: numberVar(env, 'PERFWATCH_FS_TIMEOUT_SECONDS', DEFAULTS.fsTimeoutSeconds, 0.05, 60),
    logLevel: enumVar(env, 'PERFWATCH_LOG_LEVEL', DEFAULTS.logLevel, LOG_LEVELS),
    perfEvents: listVar(env, 'PERFWATCH_PERF_EVENTS') ?? [...DEFAULTS.perfEvents],
    perfCgroups: pathListVar(env, 'PERFWATCH_PERF_CGROUPS'),
    perfFdBudget: intVar(env, 'PERFWATCH_PERF_FD_BUDGET', DEFAULTS.perfFdBudget, 1, 10_000_000),
    perfRecheckSeconds: numberVar(env, 'PERFWATCH_PERF_RECHECK_SECONDS', DEFAULTS.perfRecheckSeconds, 1, 86_400),
    cgroupInclude: value(env, 'PERFWATCH_CGROUP_INCLUDE') === undefined ? undefined : regexVar(env, 'PERFWATCH_CGROUP_INCLUDE', ''),
    cgroupExclude: regexVar(env, 'PERFWATCH_CGROUP_EXCLUDE', DEFAULTS.cgroupExclude),
    cgroupMax: intVar(env, 'PERFWATCH_CGROUP_MAX', DEFAULTS.cgroupMax, 0, 100_000),
    processTop: intVar(env, 'PERFWATCH_PROCESS_TOP', DEFAULTS.processTop, 0, 1000),
    perfCgroupDiscovery: boolVar(env, 'PERFWATCH_PERF_CGROUP_DISCOVERY', DEFAULTS.perfCgroupDiscovery),
    databaseUrl: postgresUrlVar(env, 'DATABASE_URL'),
    dbSchema: schemaVar(env, 'PERFWATCH_DB_SCHEMA', DEFAULTS.dbSchema),
    dbMigrate: boolVar(env, 'PERFWATCH_DB_MIGRATE', DEFAULTS.dbMigrate),
    dbPooler: enumVar(env, 'PERFWATCH_DB_POOLER', DEFAULTS.dbPooler, ['none', 'transaction']),
    dbMigrateUrl: postgresUrlVar(env, 'PERFWATCH_DB_MIGRATE_URL'),
    dbPoolMax: intVar(env, 'PERFWATCH_DB_POOL_MAX', DEFAULTS.dbPoolMax, 1, 16),
    dbConnectTimeoutSeconds: numberVar(env, 'PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS', DEFAULTS.dbConnectTimeoutSeconds, 0.1, 600),
    dbStatementTimeoutSeconds: numberVar(env, 'PERFWATCH_DB_STATEMENT_TIMEOUT_SECONDS', DEFAULTS.dbStatementTimeoutSeconds, 0.1, 3600),
    dataDir: pathVar(env, 'PERFWATCH_DATA_DIR', DEFAULTS.dataDir),
    spoolMaxBytes: intVar(env, 'PERFWATCH_SPOOL_MAX_BYTES', DEFAULTS.spoolMaxBytes, 65_536, Number.MAX_SAFE_INTEGER),
    writerBatchSize: intVar(env, 'PERFWATCH_WRITER_BATCH_SIZE', DEFAULTS.writerBatchSize, 1, 10_000),
    writerFlushSeconds: numberVar(env, 'PERFWATCH_WRITER_FLUSH_SECONDS', DEFAULTS.writerFlushSeconds, 0.01, 600),
  };
  // Migrations hold a session advisory lock: through a transaction pooler they cannot run.
  if (config.dbPooler === 'transaction' && config.dbMigrate && config.dbMigrateUrl === undefined && config.databaseUrl !== undefined) {
    throw new ConfigError('PERFWATCH_DB_MIGRATE_URL', 'is not set, and migrations cannot run through the transaction pooler of PERFWATCH_DB_POOLER=transaction: set it to a direct postgres:// URL, or set PERFWATCH_DB_MIGRATE=false (the api migrates)');
  }
  return config;
}
