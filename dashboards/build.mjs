#!/usr/bin/env node
/**
 * Writes the eight provisioned Grafana dashboards from one description, so that the Prometheus
 * variant (PromQL over the scraped /metrics) and the PerfWatch variant (the history datasource's
 * query model, docs/api.md POST /api/v1/query) of each dashboard show the same panels, units and
 * layout. Node builtins only.
 *
 *   node dashboards/build.mjs          rewrite dashboards/{prometheus,perfwatch}/*.json
 *   node dashboards/build.mjs --check  exit 1 (naming the files) when the committed JSON differs
 *
 * Metric names are the exporter's (store/src/catalog.ts, docs/metrics.md) and the api's own
 * (api/src/metrics.ts); deploy/test/dashboards.test.ts checks every one against the real output.
 *
 * `$host`: in the Prometheus variant it is the `host` label. Prometheus gets it from the relabeling
 * in prometheus/prometheus.yml (the scrape target's host name without the port); PerfWatch's
 * Prometheus-compatible API (/prometheus, docs/prometheus-api.md) puts the host name the exporter
 * writes into its snapshots (PERFWATCH_HOSTNAME) there, as the PerfWatch variant's `$host` is.
 *
 * The Prometheus variant has a `$datasource` variable (any Prometheus-type data source, default the
 * provisioned Prometheus): its panels and `$host` read `${datasource}`, so the same dashboard can be
 * switched to "PerfWatch (PromQL)", the history served as PromQL. Their expressions use only what
 * that API evaluates (docs/prometheus-api.md "What PromQL is supported"; deploy/test/dashboards.test.ts
 * parses each with the api's parser). Panels marked `history: 'prometheus'` read process metrics
 * the history does not hold: they stay on the Prometheus data source (uid prometheus) in both
 * variants and say so in their description.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIR = dirname(fileURLToPath(import.meta.url));

/** Grafana's dashboard JSON schema version of Grafana 12.x. */
export const SCHEMA_VERSION = 41;
export const PROMETHEUS = { type: 'prometheus', uid: 'prometheus' };
export const PERFWATCH = { type: 'perfwatch-history-datasource', uid: 'perfwatch' };
/** The Prometheus variant's switchable data source: whatever `$datasource` is set to. */
export const SWITCHABLE = { type: 'prometheus', uid: '${datasource}' };
/** The data source `$datasource` starts at: the provisioned Prometheus. */
const DEFAULT_DATASOURCE = { text: 'Prometheus', value: PROMETHEUS.uid };

// ---- query helpers ---------------------------------------------------------------------------

const H = 'host=~"$host"';
/** A PromQL target. */
const pq = (expr, legendFormat) => ({ expr, legendFormat });
/**
 * A PerfWatch target (the plugin's query model): `by` aggregates with `op` over the other labels;
 * counters are rated unless rate is false.
 */
const pw = (metric, { legend, by, op = 'sum', matchers = [], rate } = {}) => ({
  metric,
  hosts: ['$host'],
  matchers,
  ...(by ? { aggregation: { op, by } } : {}),
  ...(legend ? { legendFormat: legend } : {}),
  ...(rate === undefined ? {} : { rate }),
});
const m = (label, op, value) => ({ label, op, value });

/**
 * One panel, both variants. `prom`: PromQL targets; `history`: PerfWatch targets, or 'prometheus'
 * when the history holds no such data (process metrics of the exporter and the api live only on
 * /metrics): the PerfWatch dashboard then queries Prometheus for that panel and says so.
 */
function panel(title, o) {
  return { title, type: 'timeseries', w: 12, h: 8, ...o };
}

// ---- the dashboards --------------------------------------------------------------------------

const HOST_OVERVIEW = {
  slug: 'host-overview',
  title: 'Host overview',
  description: 'CPU, load, memory, disks, network, filesystems and pressure of the hosts PerfWatch watches.',
  rows: [
    {
      title: 'CPU',
      panels: [
        panel('CPU by mode', {
          unit: 'percentunit', stack: true, max: 1,
          description: 'Average over all CPUs of the share of time spent in each mode (idle left out).',
          prom: [pq(`avg by (host, mode) (rate(perfwatch_cpu_seconds_total{${H}, mode!="idle"}[$__rate_interval]))`, '{{host}} {{mode}}')],
          history: [pw('perfwatch_cpu_seconds_total', { by: ['host', 'mode'], op: 'avg', matchers: [m('mode', '!=', 'idle')], legend: '{{host}} {{mode}}' })],
        }),
        panel('CPU utilisation per CPU', {
          unit: 'percentunit', max: 1,
          description: 'Busy share of each CPU: 1 - (idle + iowait) / all modes.',
          prom: [pq(`1 - sum by (host, cpu) (rate(perfwatch_cpu_seconds_total{${H}, mode=~"idle|iowait"}[$__rate_interval])) / sum by (host, cpu) (rate(perfwatch_cpu_seconds_total{${H}}[$__rate_interval]))`, '{{host}} cpu{{cpu}}')],
          history: [pw('perfwatch_cpu_utilisation_ratio', { legend: '{{host}} cpu{{cpu}}' })],
        }),
        panel('Load average', {
          unit: 'short', w: 8,
          prom: [
            pq(`perfwatch_load_average_1m{${H}}`, '{{host}} 1m'),
            pq(`perfwatch_load_average_5m{${H}}`, '{{host}} 5m'),
            pq(`perfwatch_load_average_15m{${H}}`, '{{host}} 15m'),
          ],
          history: [
            pw('perfwatch_load_average_1m', { legend: '{{host}} 1m' }),
            pw('perfwatch_load_average_5m', { legend: '{{host}} 5m' }),
            pw('perfwatch_load_average_15m', { legend: '{{host}} 15m' }),
          ],
        }),
        panel('Processes running and blocked', {
          unit: 'short', w: 8,
          prom: [pq(`perfwatch_system_procs_running{${H}}`, '{{host}} running'), pq(`perfwatch_system_procs_blocked{${H}}`, '{{host}} blocked')],
          history: [pw('perfwatch_system_procs_running', { legend: '{{host}} running' }), pw('perfwatch_system_procs_blocked', { legend: '{{host}} blocked' })],
        }),
        panel('Context switches and interrupts', {
          unit: 'ops', w: 8,
          prom: [
            pq(`rate(perfwatch_system_context_switches_total{${H}}[$__rate_interval])`, '{{host}} context switches'),
            pq(`rate(perfwatch_system_interrupts_total{${H}}[$__rate_interval])`, '{{host}} interrupts'),
          ],
          history: [
            pw('perfwatch_system_context_switches_total', { legend: '{{host}} context switches' }),
            pw('perfwatch_system_interrupts_total', { legend: '{{host}} interrupts' }),
          ],
        }),
      ],
    },
    {
      title: 'Memory',
      panels: [
        panel('Memory', {
          unit: 'bytes',
          description: 'Total, available (what can be had without swapping), page cache, buffers and free memory (/proc/meminfo).',
          prom: ['mem_total', 'mem_available', 'cached', 'buffers', 'mem_free'].map((f) => pq(`perfwatch_memory_${f}_bytes{${H}}`, `{{host}} ${f.replace('mem_', '')}`)),
          history: ['mem_total', 'mem_available', 'cached', 'buffers', 'mem_free'].map((f) => pw(`perfwatch_memory_${f}_bytes`, { legend: `{{host}} ${f.replace('mem_', '')}` })),
        }),
        panel('Memory utilisation', {
          unit: 'percentunit', max: 1, w: 6,
          description: '1 - MemAvailable / MemTotal (the history: the derived metric perfwatch_memory_utilisation_ratio).',
          prom: [pq(`1 - perfwatch_memory_mem_available_bytes{${H}} / perfwatch_memory_mem_total_bytes{${H}}`, '{{host}}')],
          history: [pw('perfwatch_memory_utilisation_ratio', { legend: '{{host}}' })],
        }),
        panel('Swap', {
          unit: 'bytes', w: 6,
          prom: [pq(`perfwatch_memory_swap_total_bytes{${H}}`, '{{host}} total'), pq(`perfwatch_memory_swap_free_bytes{${H}}`, '{{host}} free')],
          history: [pw('perfwatch_memory_swap_total_bytes', { legend: '{{host}} total' }), pw('perfwatch_memory_swap_free_bytes', { legend: '{{host}} free' })],
        }),
        panel('Page faults and swapping', {
          unit: 'ops',
          description: 'Major page faults (read from disk) and pages swapped in and out per second (/proc/vmstat).',
          prom: [
            pq(`rate(perfwatch_vmstat_pgmajfault_total{${H}}[$__rate_interval])`, '{{host}} major faults'),
            pq(`rate(perfwatch_vmstat_pswpin_total{${H}}[$__rate_interval])`, '{{host}} swap in'),
            pq(`rate(perfwatch_vmstat_pswpout_total{${H}}[$__rate_interval])`, '{{host}} swap out'),
          ],
          history: [
            pw('perfwatch_vmstat_pgmajfault_total', { legend: '{{host}} major faults' }),
            pw('perfwatch_vmstat_pswpin_total', { legend: '{{host}} swap in' }),
            pw('perfwatch_vmstat_pswpout_total', { legend: '{{host}} swap out' }),
          ],
        }),
      ],
    },
    {
      title: 'Disks',
      panels: [
        panel('Disk throughput', {
          unit: 'Bps', w: 8,
          description: 'Bytes read (up) and written (down) per second, per device.',
          negativeY: 'written',
          prom: [
            pq(`rate(perfwatch_disk_read_bytes_total{${H}}[$__rate_interval])`, '{{host}} {{device}} read'),
            pq(`rate(perfwatch_disk_written_bytes_total{${H}}[$__rate_interval])`, '{{host}} {{device}} written'),
          ],
          history: [
            pw('perfwatch_disk_read_bytes_total', { legend: '{{host}} {{device}} read' }),
            pw('perfwatch_disk_written_bytes_total', { legend: '{{host}} {{device}} written' }),
          ],
        }),
        panel('Disk IOPS', {
          unit: 'iops', w: 8,
          negativeY: 'writes',
          prom: [
            pq(`rate(perfwatch_disk_reads_completed_total{${H}}[$__rate_interval])`, '{{host}} {{device}} reads'),
            pq(`rate(perfwatch_disk_writes_completed_total{${H}}[$__rate_interval])`, '{{host}} {{device}} writes'),
          ],
          history: [
            pw('perfwatch_disk_reads_completed_total', { legend: '{{host}} {{device}} reads' }),
            pw('perfwatch_disk_writes_completed_total', { legend: '{{host}} {{device}} writes' }),
          ],
        }),
        panel('Disk utilisation', {
          unit: 'percentunit', max: 1, w: 8,
          description: 'Share of time each device had I/O in flight.',
          prom: [pq(`rate(perfwatch_disk_io_time_seconds_total{${H}}[$__rate_interval])`, '{{host}} {{device}}')],
          history: [pw('perfwatch_disk_utilisation_ratio', { legend: '{{host}} {{device}}' })],
        }),
        panel('Disk latency', {
          unit: 's',
          description: 'Average time per completed read and write (the history: the derived metrics perfwatch_disk_read_latency_seconds and perfwatch_disk_write_latency_seconds).',
          prom: [
            pq(`rate(perfwatch_disk_read_time_seconds_total{${H}}[$__rate_interval]) / rate(perfwatch_disk_reads_completed_total{${H}}[$__rate_interval])`, '{{host}} {{device}} read'),
            pq(`rate(perfwatch_disk_write_time_seconds_total{${H}}[$__rate_interval]) / rate(perfwatch_disk_writes_completed_total{${H}}[$__rate_interval])`, '{{host}} {{device}} write'),
          ],
          history: [
            pw('perfwatch_disk_read_latency_seconds', { legend: '{{host}} {{device}} read' }),
            pw('perfwatch_disk_write_latency_seconds', { legend: '{{host}} {{device}} write' }),
          ],
        }),
        panel('Disk queue size', {
          unit: 'short',
          description: 'Average number of I/Os in flight (rate of the weighted I/O time).',
          prom: [pq(`rate(perfwatch_disk_io_time_weighted_seconds_total{${H}}[$__rate_interval])`, '{{host}} {{device}}')],
          history: [pw('perfwatch_disk_io_time_weighted_seconds_total', { legend: '{{host}} {{device}}' })],
        }),
      ],
    },
    {
      title: 'Network',
      panels: [
        panel('Network traffic', {
          unit: 'Bps',
          description: 'Bytes received (up) and transmitted (down) per second, per interface.',
          negativeY: 'transmit',
          prom: [
            pq(`rate(perfwatch_network_receive_bytes_total{${H}}[$__rate_interval])`, '{{host}} {{device}} receive'),
            pq(`rate(perfwatch_network_transmit_bytes_total{${H}}[$__rate_interval])`, '{{host}} {{device}} transmit'),
          ],
          history: [
            pw('perfwatch_network_receive_bytes_total', { legend: '{{host}} {{device}} receive' }),
            pw('perfwatch_network_transmit_bytes_total', { legend: '{{host}} {{device}} transmit' }),
          ],
        }),
        panel('Network errors and drops', {
          unit: 'pps',
          prom: ['receive_errors', 'receive_dropped', 'transmit_errors', 'transmit_dropped'].map((f) =>
            pq(`rate(perfwatch_network_${f}_total{${H}}[$__rate_interval])`, `{{host}} {{device}} ${f.replace('_', ' ')}`)),
          history: ['receive_errors', 'receive_dropped', 'transmit_errors', 'transmit_dropped'].map((f) =>
            pw(`perfwatch_network_${f}_total`, { legend: `{{host}} {{device}} ${f.replace('_', ' ')}` })),
        }),
        panel('TCP connections', {
          unit: 'short',
          prom: [pq(`perfwatch_netstat_tcp_curr_estab{${H}}`, '{{host}} established'), pq(`perfwatch_sockstat_tcp_tw{${H}}`, '{{host}} time-wait')],
          history: [pw('perfwatch_netstat_tcp_curr_estab', { legend: '{{host}} established' }), pw('perfwatch_sockstat_tcp_tw', { legend: '{{host}} time-wait' })],
        }),
        panel('TCP retransmits', {
          unit: 'pps',
          prom: [pq(`rate(perfwatch_netstat_tcp_retrans_segs_total{${H}}[$__rate_interval])`, '{{host}} retransmitted segments')],
          history: [pw('perfwatch_netstat_tcp_retrans_segs_total', { legend: '{{host}} retransmitted segments' })],
        }),
      ],
    },
    {
      title: 'Filesystems',
      panels: [
        panel('Filesystem space used', {
          unit: 'percentunit', max: 1,
          description: 'Share of each filesystem in use (1 - available / size; the history: the derived metric perfwatch_filesystem_used_ratio).',
          prom: [pq(`1 - perfwatch_filesystem_avail_bytes{${H}} / perfwatch_filesystem_size_bytes{${H}}`, '{{host}} {{mountpoint}}')],
          history: [pw('perfwatch_filesystem_used_ratio', { legend: '{{host}} {{mountpoint}}' })],
        }),
        panel('Filesystem space available', {
          unit: 'bytes',
          prom: [pq(`perfwatch_filesystem_avail_bytes{${H}}`, '{{host}} {{mountpoint}}')],
          history: [pw('perfwatch_filesystem_avail_bytes', { legend: '{{host}} {{mountpoint}}' })],
        }),
        panel('Filesystem errors and read-only mounts', {
          unit: 'short', w: 24, h: 6,
          description: 'perfwatch_filesystem_device_error is 1 when statfs failed or hung; readonly is 1 for read-only mounts.',
          prom: [pq(`perfwatch_filesystem_device_error{${H}} == 1`, '{{host}} {{mountpoint}} error'), pq(`perfwatch_filesystem_readonly{${H}} == 1`, '{{host}} {{mountpoint}} read-only')],
          history: [
            pw('perfwatch_filesystem_device_error', { legend: '{{host}} {{mountpoint}} error' }),
            pw('perfwatch_filesystem_readonly', { legend: '{{host}} {{mountpoint}} read-only' }),
          ],
        }),
      ],
    },
    {
      title: 'Pressure',
      panels: [
        panel('Pressure stall time', {
          unit: 'percentunit', max: 1,
          description: 'Share of time some (or all) non-idle tasks were stalled on CPU, memory or I/O (PSI; needs Linux 4.20+ with psi=1).',
          prom: [pq(`rate(perfwatch_pressure_stalled_seconds_total{${H}}[$__rate_interval])`, '{{host}} {{resource}} {{kind}}')],
          history: [pw('perfwatch_pressure_stalled_seconds_total', { legend: '{{host}} {{resource}} {{kind}}' })],
        }),
        panel('Pressure, kernel 10 s average', {
          unit: 'percentunit', max: 1,
          prom: [pq(`perfwatch_pressure_stalled_ratio{${H}, window="10s"}`, '{{host}} {{resource}} {{kind}}')],
          history: [pw('perfwatch_pressure_stalled_ratio', { matchers: [m('window', '=', '10s')], legend: '{{host}} {{resource}} {{kind}}' })],
        }),
      ],
    },
  ],
};

/** Sum of a perf counter's rate per host (all CPUs), for ratios in PromQL. */
const perfRate = (name) => `sum by (host) (rate(perfwatch_perf_${name}_total{${H}}[$__rate_interval]))`;

const CPU_COUNTERS = {
  slug: 'cpu-performance-counters',
  title: 'CPU performance counters',
  description: 'Hardware and software perf counters: IPC, cache and branch miss ratios, context switches, multiplexing, and the events this host cannot count (docs/perf.md).',
  rows: [
    {
      title: 'Efficiency',
      panels: [
        panel('Instructions per cycle', {
          unit: 'short',
          description: 'Instructions retired per CPU cycle. Empty where the PMU is not available (most VMs): see "Unavailable events".',
          prom: [pq(`${perfRate('instructions')} / ${perfRate('cpu_cycles')}`, '{{host}}')],
          history: [pw('perfwatch_perf_instructions_per_cycle', { legend: '{{host}} cpu{{cpu}}' })],
        }),
        panel('Instructions per cycle per CPU', {
          unit: 'short',
          prom: [pq(`rate(perfwatch_perf_instructions_total{${H}}[$__rate_interval]) / rate(perfwatch_perf_cpu_cycles_total{${H}}[$__rate_interval])`, '{{host}} cpu{{cpu}}')],
          history: [pw('perfwatch_perf_instructions_per_cycle', { legend: '{{host}} cpu{{cpu}}' })],
        }),
        panel('Cache miss ratio', {
          unit: 'percentunit', max: 1,
          description: 'Last-level cache misses per cache reference.',
          prom: [pq(`${perfRate('cache_misses')} / ${perfRate('cache_references')}`, '{{host}}')],
          history: [pw('perfwatch_perf_cache_miss_ratio', { legend: '{{host}} cpu{{cpu}}' })],
        }),
        panel('Branch miss ratio', {
          unit: 'percentunit', max: 1,
          description: 'Mispredicted branches per branch instruction.',
          prom: [pq(`${perfRate('branch_misses')} / ${perfRate('branch_instructions')}`, '{{host}}')],
          history: [pw('perfwatch_perf_branch_miss_ratio', { legend: '{{host}} cpu{{cpu}}' })],
        }),
        panel('Cycles and instructions', {
          unit: 'hertz', w: 24,
          description: 'Cycles and instructions per second, all CPUs together.',
          prom: [pq(perfRate('cpu_cycles'), '{{host}} cycles'), pq(perfRate('instructions'), '{{host}} instructions')],
          history: [
            pw('perfwatch_perf_cpu_cycles_total', { by: ['host'], legend: '{{host}} cycles' }),
            pw('perfwatch_perf_instructions_total', { by: ['host'], legend: '{{host}} instructions' }),
          ],
        }),
      ],
    },
    {
      title: 'Software events',
      panels: [
        panel('Context switches', {
          unit: 'ops', w: 8,
          prom: [pq(`sum by (host, cpu) (rate(perfwatch_perf_context_switches_total{${H}}[$__rate_interval]))`, '{{host}} cpu{{cpu}}')],
          history: [pw('perfwatch_perf_context_switches_total', { legend: '{{host}} cpu{{cpu}}' })],
        }),
        panel('CPU migrations', {
          unit: 'ops', w: 8,
          prom: [pq(`rate(perfwatch_perf_cpu_migrations_total{${H}}[$__rate_interval])`, '{{host}} cpu{{cpu}}')],
          history: [pw('perfwatch_perf_cpu_migrations_total', { legend: '{{host}} cpu{{cpu}}' })],
        }),
        panel('Page faults', {
          unit: 'ops', w: 8,
          prom: [
            pq(`sum by (host) (rate(perfwatch_perf_page_faults_total{${H}}[$__rate_interval]))`, '{{host}} all'),
            pq(`sum by (host) (rate(perfwatch_perf_major_faults_total{${H}}[$__rate_interval]))`, '{{host}} major'),
          ],
          history: [
            pw('perfwatch_perf_page_faults_total', { by: ['host'], legend: '{{host}} all' }),
            pw('perfwatch_perf_major_faults_total', { by: ['host'], legend: '{{host}} major' }),
          ],
        }),
        panel('Task clock', {
          unit: 'percentunit', w: 24,
          description: 'Time counted by task-clock per second of wall time, per CPU (system-wide counting includes idle).',
          prom: [pq(`rate(perfwatch_perf_task_clock_seconds_total{${H}}[$__rate_interval])`, '{{host}} cpu{{cpu}}')],
          history: [pw('perfwatch_perf_task_clock_seconds_total', { legend: '{{host}} cpu{{cpu}}' })],
        }),
      ],
    },
    {
      title: 'Counting quality',
      panels: [
        panel('Scaling ratio', {
          unit: 'percentunit', max: 1,
          description: 'Share of its enabled time each event was counted: 1 = exact; below 1 the PMU was multiplexed and the count is scaled.',
          prom: [pq(`min by (host, event) (perfwatch_perf_scaling_ratio{${H}})`, '{{host}} {{event}}')],
          history: [pw('perfwatch_perf_scaling_ratio', { by: ['host', 'event'], op: 'min', legend: '{{host}} {{event}}' })],
        }),
        panel('Unavailable events', {
          type: 'table',
          description: 'Configured perf events this host cannot count, with the reason (docs/perf.md says how to fix each; `npm run doctor` checks a host).',
          prom: [pq(`perfwatch_perf_event_available{${H}} == 0`, '{{host}} {{event}}: {{reason}}')],
          history: [pw('perfwatch_perf_event_available', { matchers: [m('reason', '!=', '')], legend: '{{host}} {{event}}: {{reason}}' })],
          table: true,
        }),
      ],
    },
  ],
};

const J_API = 'job="perfwatch-api"';

const SELF = {
  slug: 'self-monitoring',
  title: 'PerfWatch self-monitoring',
  description: 'The exporter\'s collectors and database writer, and the api. Writer, api and process figures are process metrics on /metrics, which the history does not hold: both variants read them from Prometheus, whatever data source the rest of the dashboard uses.',
  rows: [
    {
      title: 'Collectors',
      panels: [
        panel('Collector duration', {
          unit: 's',
          prom: [pq(`perfwatch_scrape_collector_duration_seconds{${H}}`, '{{host}} {{collector}}')],
          history: [pw('perfwatch_scrape_collector_duration_seconds', { legend: '{{host}} {{collector}}' })],
        }),
        panel('Collector failures', {
          unit: 'short', min: 0,
          description: '1 while a collector fails (its last collection failed); the exporter log says why.',
          prom: [pq(`1 - perfwatch_scrape_collector_success{${H}}`, '{{host}} {{collector}}')],
          history: [pw('perfwatch_scrape_collector_success', { legend: '{{host}} {{collector}} (1 = ok)' })],
        }),
      ],
    },
    {
      title: 'Database writer',
      panels: [
        panel('Write latency', {
          unit: 's', w: 8,
          description: 'Time of one batch INSERT: median and 99th percentile.',
          prom: [
            pq(`histogram_quantile(0.5, sum by (host, le) (rate(perfwatch_writer_write_duration_seconds_bucket{${H}}[$__rate_interval])))`, '{{host}} p50'),
            pq(`histogram_quantile(0.99, sum by (host, le) (rate(perfwatch_writer_write_duration_seconds_bucket{${H}}[$__rate_interval])))`, '{{host}} p99'),
          ],
          history: 'prometheus',
        }),
        panel('Buffered snapshots', {
          unit: 'short', w: 8,
          description: 'Snapshots waiting in memory and in the on-disk spool (the database was unreachable or slow).',
          prom: [pq(`perfwatch_writer_queued_snapshots{${H}}`, '{{host}} queued'), pq(`perfwatch_writer_spooled_snapshots{${H}}`, '{{host}} spooled')],
          history: 'prometheus',
        }),
        panel('Snapshots written, dropped and failed writes', {
          unit: 'ops', w: 8,
          prom: [
            pq(`rate(perfwatch_writer_written_total{${H}}[$__rate_interval])`, '{{host}} written'),
            pq(`sum by (host, reason) (rate(perfwatch_writer_dropped_total{${H}}[$__rate_interval]))`, '{{host}} dropped {{reason}}'),
            pq(`rate(perfwatch_writer_write_errors_total{${H}}[$__rate_interval])`, '{{host}} write errors'),
          ],
          history: 'prometheus',
        }),
        panel('Seconds since the last successful write', {
          unit: 's', w: 12,
          prom: [pq(`time() - perfwatch_writer_last_success_timestamp_seconds{${H}} and perfwatch_writer_last_success_timestamp_seconds{${H}} > 0`, '{{host}}')],
          history: 'prometheus',
        }),
        panel('Spool size', {
          unit: 'bytes', w: 12,
          prom: [pq(`perfwatch_writer_spool_bytes{${H}}`, '{{host}}')],
          history: 'prometheus',
        }),
      ],
    },
    {
      title: 'API',
      panels: [
        panel('API request latency', {
          unit: 's',
          description: '95th percentile of the time to answer, by route pattern.',
          prom: [pq(`histogram_quantile(0.95, sum by (route, le) (rate(perfwatch_api_http_request_duration_seconds_bucket{${J_API}}[$__rate_interval])))`, '{{route}}')],
          history: 'prometheus',
        }),
        panel('API requests', {
          unit: 'reqps',
          prom: [pq(`sum by (status) (rate(perfwatch_api_http_requests_total{${J_API}}[$__rate_interval]))`, '{{status}}')],
          history: 'prometheus',
        }),
        panel('Database pool', {
          unit: 'short', w: 8,
          prom: [
            pq(`perfwatch_api_db_pool_connections{${J_API}}`, '{{host}} open'),
            pq(`perfwatch_api_db_pool_idle_connections{${J_API}}`, '{{host}} idle'),
            pq(`perfwatch_api_db_pool_waiting_requests{${J_API}}`, '{{host}} waiting'),
          ],
          history: 'prometheus',
        }),
        panel('Logins', {
          unit: 'ops', w: 8,
          prom: [pq(`sum by (result) (rate(perfwatch_api_logins_total{${J_API}}[$__rate_interval]))`, '{{result}}')],
          history: 'prometheus',
        }),
        panel('Background jobs waiting', {
          unit: 'short', w: 8,
          description: 'pg-boss jobs of the api (rollups, partitions ahead, retention) waiting to run, by queue: a queue that keeps growing is not being worked off. The admin UI Status page shows the last retention run.',
          prom: [pq(`max by (queue) (perfwatch_api_jobs_queued{${J_API}})`, '{{queue}}')],
          history: 'prometheus',
        }),
        panel('Live stream', {
          unit: 'short', w: 12,
          description: 'WebSocket clients of /api/v1/live and whether the api listens for new snapshots (1) or reconnects (0).',
          prom: [pq(`sum(perfwatch_api_live_clients{${J_API}})`, 'clients'), pq(`min(perfwatch_api_live_listening{${J_API}})`, 'listening')],
          history: 'prometheus',
        }),
        panel('Live messages and dropped clients', {
          unit: 'ops', w: 12,
          prom: [
            pq(`sum(rate(perfwatch_api_live_messages_total{${J_API}}[$__rate_interval]))`, 'messages sent'),
            pq(`sum by (reason) (rate(perfwatch_api_live_dropped_clients_total{${J_API}}[$__rate_interval]))`, 'dropped {{reason}}'),
          ],
          history: 'prometheus',
        }),
      ],
    },
    {
      title: 'Processes',
      panels: [
        panel('Resident memory', {
          unit: 'bytes',
          prom: [pq(`process_resident_memory_bytes{job=~"perfwatch-.*"}`, '{{job}} {{host}}')],
          history: 'prometheus',
        }),
        panel('CPU used', {
          unit: 'percentunit',
          description: 'CPU seconds per second of the exporter and api processes.',
          prom: [pq(`rate(process_cpu_seconds_total{job=~"perfwatch-.*"}[$__rate_interval])`, '{{job}} {{host}}')],
          history: 'prometheus',
        }),
      ],
    },
  ],
};

/** Containers, systemd units and pods (the cgroup collector) and the top process groups. The
 *  Prometheus variant shows the top 10 of each; the history's query model has no topk, so its
 *  panels show every exported cgroup (PERFWATCH_CGROUP_MAX bounds them). */
const CG_BY = ['host', 'cgroup', 'container', 'unit'];
const CG_LEGEND = '{{host}} {{cgroup}} {{container}}';
const cgTop = (expr) => `topk(10, ${expr})`;
const cgRate = (metric, extra = '') => `sum by (host, cgroup, container, unit) (rate(${metric}{${H}${extra}}[$__rate_interval]))`;
const CONTAINERS = {
  slug: 'containers-and-services',
  title: 'Containers and services',
  description: 'Which container, systemd unit or pod uses the CPU, memory, disks and stalls (the cgroup collector), the top process groups, and IPC per cgroup (docs/metrics.md).',
  rows: [
    {
      title: 'CPU',
      panels: [
        panel('CPU by cgroup', {
          unit: 'short',
          description: 'CPUs kept busy (CPU seconds per second) by each cgroup; a slice includes its children.',
          prom: [pq(cgTop(cgRate('perfwatch_container_cpu_usage_seconds_total')), CG_LEGEND)],
          history: [pw('perfwatch_container_cpu_usage_seconds_total', { by: CG_BY, legend: CG_LEGEND })],
        }),
        panel('CPU throttling', {
          unit: 'percentunit', max: 1,
          description: 'Share of CFS periods in which the cgroup hit its CPU quota (groups with a quota only).',
          prom: [pq(cgTop(`${cgRate('perfwatch_container_cpu_cfs_throttled_periods_total')} / ${cgRate('perfwatch_container_cpu_cfs_periods_total')}`), CG_LEGEND)],
          history: [pw('perfwatch_container_cpu_throttled_ratio', { legend: CG_LEGEND })],
        }),
      ],
    },
    {
      title: 'Memory',
      panels: [
        panel('Memory working set by cgroup', {
          unit: 'bytes',
          description: 'Memory in use minus the page cache that can be reclaimed (usage - inactive_file), as cAdvisor\'s working set.',
          prom: [pq(cgTop(`sum by (host, cgroup, container, unit) (perfwatch_container_memory_usage_bytes{${H}} - perfwatch_container_memory_inactive_file_bytes{${H}})`), CG_LEGEND)],
          history: [pw('perfwatch_container_memory_working_set_bytes', { legend: CG_LEGEND })],
        }),
        panel('OOM kills', {
          unit: 'ops',
          description: 'Processes killed by the OOM killer in each cgroup, per second.',
          prom: [pq(cgTop(cgRate('perfwatch_container_oom_kill_events_total')), CG_LEGEND)],
          history: [pw('perfwatch_container_oom_kill_events_total', { by: CG_BY, legend: CG_LEGEND })],
        }),
      ],
    },
    {
      title: 'Disks and pressure',
      panels: [
        panel('Disk throughput by cgroup', {
          unit: 'Bps',
          description: 'Bytes read (up) and written (down) per second by each cgroup\'s tasks, all devices.',
          negativeY: 'written',
          prom: [
            pq(cgTop(cgRate('perfwatch_container_fs_reads_bytes_total')), `${CG_LEGEND} read`),
            pq(cgTop(cgRate('perfwatch_container_fs_writes_bytes_total')), `${CG_LEGEND} written`),
          ],
          history: [
            pw('perfwatch_container_fs_reads_bytes_total', { by: CG_BY, legend: `${CG_LEGEND} read` }),
            pw('perfwatch_container_fs_writes_bytes_total', { by: CG_BY, legend: `${CG_LEGEND} written` }),
          ],
        }),
        panel('Pressure stalls by cgroup', {
          unit: 'percentunit', max: 1,
          description: 'Share of time some task of the cgroup was stalled on CPU, memory or IO (PSI: cgroup v2, or systemd units on a hybrid host).',
          prom: [pq(cgTop(`sum by (host, cgroup, container, unit, resource) (rate(perfwatch_container_pressure_stalled_seconds_total{${H}, kind="some"}[$__rate_interval]))`), `${CG_LEGEND} {{resource}}`)],
          history: [pw('perfwatch_container_pressure_stalled_seconds_total', { by: [...CG_BY, 'resource'], matchers: [m('kind', '=', 'some')], legend: `${CG_LEGEND} {{resource}}` })],
        }),
      ],
    },
    {
      title: 'Processes and counters',
      panels: [
        panel('Top process groups by CPU', {
          unit: 'short', w: 8,
          description: 'CPUs kept busy by the processes of one command name in one cgroup (the exported top groups).',
          prom: [pq(cgTop(`sum by (host, comm, cgroup) (rate(perfwatch_process_cpu_seconds_total{${H}}[$__rate_interval]))`), '{{host}} {{comm}} {{cgroup}}')],
          history: [pw('perfwatch_process_cpu_seconds_total', { by: ['host', 'comm', 'cgroup'], legend: '{{host}} {{comm}} {{cgroup}}' })],
        }),
        panel('Top process groups by resident memory', {
          unit: 'bytes', w: 8,
          prom: [pq(cgTop(`perfwatch_process_resident_memory_bytes{${H}}`), '{{host}} {{comm}} {{cgroup}}')],
          history: [pw('perfwatch_process_resident_memory_bytes', { legend: '{{host}} {{comm}} {{cgroup}}' })],
        }),
        panel('Instructions per cycle by cgroup', {
          unit: 'short', w: 8,
          description: 'IPC of each perf-counted cgroup\'s tasks (PERFWATCH_PERF_CGROUPS or PERFWATCH_PERF_CGROUP_DISCOVERY). Empty where the PMU is not available (most VMs).',
          prom: [pq(`sum by (host, cgroup) (rate(perfwatch_perf_cgroup_instructions_total{${H}}[$__rate_interval])) / sum by (host, cgroup) (rate(perfwatch_perf_cgroup_cpu_cycles_total{${H}}[$__rate_interval]))`, '{{host}} {{cgroup}}')],
          history: [pw('perfwatch_perf_cgroup_instructions_per_cycle', { legend: '{{host}} {{cgroup}}' })],
        }),
      ],
    },
  ],
};

export const DASHBOARDS = [HOST_OVERVIEW, CPU_COUNTERS, SELF, CONTAINERS];

// ---- rendering -------------------------------------------------------------------------------

const VARIANTS = {
  prometheus: { suffix: 'Prometheus', tag: 'prometheus', uidSuffix: '-prom', ds: PROMETHEUS },
  perfwatch: { suffix: 'PerfWatch history', tag: 'history', uidSuffix: '', ds: PERFWATCH },
};

/** `$datasource` of the Prometheus variant: any Prometheus-type data source, the provisioned Prometheus first. */
function datasourceVariable() {
  return {
    name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus',
    current: { ...DEFAULT_DATASOURCE }, includeAll: false, multi: false, options: [], refresh: 1, regex: '', hide: 0,
  };
}

function hostVariable(variant) {
  if (variant === 'prometheus') {
    // No job matcher: PerfWatch's API has no job label; only the exporter has this metric.
    const q = 'label_values(perfwatch_scrape_collector_success, host)';
    return {
      name: 'host', label: 'Host', type: 'query', datasource: SWITCHABLE,
      definition: q, query: { qryType: 1, query: q, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
      refresh: 2, includeAll: true, allValue: '.+', multi: true, sort: 1, current: {}, options: [], regex: '', hide: 0,
    };
  }
  return {
    name: 'host', label: 'Host', type: 'query', datasource: PERFWATCH,
    definition: 'hosts()', query: 'hosts()',
    refresh: 2, includeAll: true, multi: true, sort: 1, current: {}, options: [], regex: '', hide: 0,
  };
}

function fieldConfig(p, unit) {
  const defaults = {
    unit,
    ...(p.min !== undefined ? { min: p.min } : {}),
    ...(p.max !== undefined ? { max: p.max } : {}),
    color: { mode: 'palette-classic' },
  };
  if (p.type === 'timeseries') {
    defaults.custom = {
      drawStyle: 'line', lineWidth: 1, fillOpacity: p.stack ? 30 : 10, showPoints: 'never', spanNulls: false,
      axisSoftMin: 0, stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' },
    };
  }
  const overrides = p.negativeY
    ? [{ matcher: { id: 'byRegexp', options: `/${p.negativeY}$/` }, properties: [{ id: 'custom.transform', value: 'negative-Y' }] }]
    : [];
  return { defaults, overrides };
}

/**
 * A panel's data source in a variant: process metrics (history: 'prometheus') are on Prometheus
 * in both; the rest reads the history plugin (PerfWatch variant) or `${datasource}` (Prometheus
 * variant).
 */
function datasourceOf(p, variant) {
  if (p.history === 'prometheus') return PROMETHEUS;
  return variant === 'perfwatch' ? PERFWATCH : SWITCHABLE;
}

/** The description's note on a panel that stays on Prometheus in the Prometheus variant. */
export const PROMETHEUS_ONLY_NOTE = 'Prometheus only: process metrics of /metrics, which PerfWatch\'s history does not hold, so this panel reads the Prometheus data source whatever the "Data source" variable is set to.';

function targets(p, variant) {
  const ds = datasourceOf(p, variant);
  if (ds !== PERFWATCH) {
    return p.prom.map((t, i) => ({
      refId: String.fromCharCode(65 + i), datasource: ds, editorMode: 'code', range: !p.table, instant: !!p.table,
      ...(p.table ? { format: 'table' } : {}), ...t,
    }));
  }
  return p.history.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: PERFWATCH, ...t }));
}

function renderPanel(p, variant, id, gridPos) {
  const fromPrometheus = variant === 'perfwatch' && p.history === 'prometheus';
  const pinned = variant === 'prometheus' && p.history === 'prometheus';
  const ds = datasourceOf(p, variant);
  const unit = p.unit;
  const note = fromPrometheus ? 'Read from Prometheus: the history holds no process metrics.' : pinned ? PROMETHEUS_ONLY_NOTE : '';
  const out = {
    id, type: p.type, title: fromPrometheus ? `${p.title} (Prometheus)` : p.title,
    ...(p.description || note ? { description: [p.description, note].filter(Boolean).join(' ') } : {}),
    datasource: ds, gridPos, fieldConfig: fieldConfig(p, unit ?? 'short'),
    options: p.type === 'table'
      ? { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], countRows: false, fields: '' } }
      : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] }, tooltip: { mode: 'multi', sort: 'desc', hideZeros: false } },
    targets: targets(p, variant),
  };
  if (p.type === 'table') {
    out.transformations = ds !== PERFWATCH
      ? // An instant query in table format: one row per series, its labels as columns (host
        // names it; Prometheus' instance and job, which PerfWatch's API does not have, are left out).
        [{ id: 'organize', options: { excludeByName: { Time: true, Value: true, __name__: true, job: true, instance: true }, renameByName: {}, indexByName: {} } }]
      : // Time series: one row per series, named by its legend (host, event and reason).
        [{ id: 'reduce', options: { reducers: ['lastNotNull'], mode: 'seriesToRows', includeTimeField: false } }];
  }
  return out;
}

export function renderDashboard(d, variant) {
  const v = VARIANTS[variant];
  const panels = [];
  let id = 1;
  let y = 0;
  for (const row of d.rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowH = 0;
    // panel() gave each its type, width and height
    for (const p of row.panels) {
      if (x + p.w > 24) {
        y += rowH;
        x = 0;
        rowH = 0;
      }
      panels.push(renderPanel(p, variant, id++, { h: p.h, w: p.w, x, y }));
      x += p.w;
      rowH = Math.max(rowH, p.h);
    }
    y += rowH;
  }
  const other = VARIANTS[variant === 'prometheus' ? 'perfwatch' : 'prometheus'];
  const annotations = [
    {
      builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true,
      iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard',
    },
  ];
  if (variant === 'perfwatch') {
    // The plugin's annotation query (GET /api/v1/annotations): stretches without snapshots of a
    // host (collector or exporter outages) and retention runs.
    annotations.push({
      datasource: PERFWATCH, enable: true, hide: false, iconColor: 'red', name: 'Outages and retention runs',
      target: { refId: 'Anno', queryType: 'annotations', kinds: ['gap', 'retention'], hosts: ['$host'], metric: '', matchers: [] },
    });
  }
  return {
    annotations: { list: annotations },
    description: d.description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    links: [
      { type: 'dashboards', title: `Same dashboards (${other.suffix})`, tags: ['perfwatch', other.tag], asDropdown: true, includeVars: true, keepTime: true, icon: 'external link', targetBlank: false, tooltip: '', url: '' },
    ],
    panels,
    refresh: '30s',
    schemaVersion: SCHEMA_VERSION,
    tags: ['perfwatch', v.tag],
    templating: { list: variant === 'prometheus' ? [datasourceVariable(), hostVariable(variant)] : [hostVariable(variant)] },
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    title: `${d.title} (${v.suffix})`,
    uid: `perfwatch-${d.slug}${v.uidSuffix}`,
    version: 1,
  };
}

/** Every output file, relative to dashboards/, with its text. */
export function buildAll() {
  const files = {};
  for (const variant of Object.keys(VARIANTS)) {
    for (const d of DASHBOARDS) files[`${variant}/${d.slug}.json`] = `${JSON.stringify(renderDashboard(d, variant), null, 2)}\n`;
  }
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const [rel, text] of Object.entries(buildAll())) {
    const file = join(DIR, rel);
    const same = existsSync(file) && readFileSync(file, 'utf8') === text;
    if (check) {
      if (!same) stale.push(rel);
    } else if (!same) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      process.stdout.write(`wrote dashboards/${rel}\n`);
    }
  }
  if (stale.length) {
    process.stderr.write(`dashboards out of date (run node dashboards/build.mjs): ${stale.join(', ')}\n`);
    process.exit(1);
  }
}
