/**
 * The query set of the PromQL differential test (promql-compliance.test.ts): our own adaptation of
 * the PromQL compliance tester's promql/promql-test-queries.yml (github.com/prometheus/compliance)
 * to PerfWatch's metric names, extended so that every construct appears at least once: literals,
 * selectors with every matcher (RE2 syntax included), offset, @, every aggregation with by/without
 * and its parameters, every binary operator between scalars and vectors with bool, on, ignoring,
 * group_left/group_right, and/or/unless, every function, subqueries, classic histograms built with
 * label_replace, expressions that must fail in both, and staleness-sensitive selectors.
 *
 * The synthetic history behind it (three hosts alpha, beta, gamma at 10 s): beta has a 10-minute
 * outage, gamma a counter reset, alpha's disk sr0 disappears halfway.
 *
 * `{{at}}` in a query stands for a time inside the history (Unix seconds), filled in by the test;
 * the query's name keeps the placeholder so that names stay the same from run to run.
 *
 * The peer is Prometheus 2.42, whose windows are left-closed, [t − r, t]; PerfWatch follows
 * Prometheus 3, (t − r, t]. The test's evaluation times are 7 s past a whole minute and the
 * samples lie at fractions of a second, so no sample and no subquery point (multiples of its step)
 * lies on a window's edge. A subquery inside a subquery is evaluated at the outer step's multiples:
 * give the inner one a range that is not a multiple of its step (`[2m5s:30s]` inside `[10m:1m]`),
 * or its edge holds a point and the two versions differ by design.
 */

export interface QueryCase {
  query: string;
  /** also run as a range query at a 15 s step (the others: 60 s only). */
  fine?: boolean;
  /** what the peer (Prometheus 2.42) is asked instead, where Prometheus 3 renamed something. */
  prometheus?: string;
}

const C = 'perfwatch_cpu_seconds_total';
const CS = 'perfwatch_system_context_switches_total';
const L = 'perfwatch_load_average_1m';
const L5 = 'perfwatch_load_average_5m';
const G = 'perfwatch_memory_mem_available_bytes';
const DR = 'perfwatch_disk_read_bytes_total';
const DW = 'perfwatch_disk_written_bytes_total';
const NR = 'perfwatch_network_receive_bytes_total';
const IO = 'perfwatch_disk_io_now';
const RUN = 'perfwatch_system_procs_running';
const BOOT = 'perfwatch_system_boot_time_seconds';
const MEM = `{__name__=~"perfwatch_memory_(mem_free|mem_available|cached|active|inactive)_bytes"}`;

const RANGES = ['1m', '5m', '15m', '1h'];
const ARITH = ['+', '-', '*', '/', '%', '^'];
const COMP = ['==', '!=', '>', '<', '>=', '<='];
const SIMPLE_AGGR = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar'];
const MATH = ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'round', 'sgn'];
const TRIG = ['sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh', 'deg', 'rad'];
const DATE = ['day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'hour', 'minute', 'month', 'year'];

const q = (query: string, fine = false): QueryCase => (fine ? { query, fine } : { query });
const each = <T>(xs: T[], f: (x: T) => string, fine = false): QueryCase[] => xs.map((x) => q(f(x), fine));

export const QUERIES: QueryCase[] = [
  // ---- scalar and string literals -----------------------------------------------------------------------------
  ...each(['42', '1.234', '.123', '1.23e-3', '0x3d', 'Inf', '+Inf', '-Inf', 'NaN', '-1 ^ 2', '1 * 2 + 4 / 6 - 10 % 2 ^ 2', '2 ^ 3 ^ 2', '(1 + 2) * -3'], (x) => x),
  q('"a string literal"'),

  // ---- instant vector selectors: every matcher, __name__ regexes, RE2 syntax --------------------------------------
  q(L, true),
  q(`{__name__="${L}"}`),
  q(`${C}{mode="idle"}`),
  q(`${C}{mode!="idle"}`),
  q(`${C}{host=~"al.*|gamma"}`),
  q(`${C}{host=~"al"}`), // fully anchored: no substring match
  q(`${C}{mode!~"(user|system)"}`),
  q(`${C}{mode="idle", host!="beta"}`),
  q(`{mode="idle", host!="beta"}`),
  q(`{__name__=~"perfwatch_load_average_.*"}`),
  q(`{__name__=~"perfwatch_memory_(mem_)?(free|available)_bytes", host="alpha"}`),
  q(`{__name__!~"perfwatch_(memory|disk|network|filesystem|sockstat|scrape|cpu|perf|system|load)_.*", host="beta"}`),
  q(`${L}{host=~"(?i)ALPHA|Gamma"}`),
  q(`${C}{mode=~"[[:alpha:]]+irq"}`), // POSIX class: RE2, not JavaScript
  q(`${C}{mode=~"\\\\w+q", cpu=~"\\\\d"}`),
  q(`${C}{mode=~"s.*", mode!~"st.*"}`),
  q(`${L}{host=~"alpha|"}`),
  q(`${L}{nonexistent=""}`),
  q(`${L}{nonexistent!=""}`),
  q('nonexistent_metric_name'),
  q(`${DR}`, true), // sr0 disappears from alpha halfway
  q('perfwatch_perf_event_available'), // a label with an empty value
  q(`{__name__=~".*"}`), // must fail: no matcher that does not match ""
  q(`{mode=~".*"}`),
  q(`${L}{host=~"(alpha"}`), // invalid regex

  // ---- offset and @ ----------------------------------------------------------------------------------------------
  ...each(['1m', '10m', '-5m'], (o) => `${L} offset ${o}`),
  q(`rate(${C}{mode="user"}[5m] offset 30m)`),
  q(`${L} @ {{at}}`),
  q(`${L} @ start()`),
  q(`${L} @ end()`),
  q(`rate(${C}{mode="system"}[5m] @ end())`),
  q(`sum(${L} @ {{at}}) by (host)`),
  q(`${L} offset 5m @ {{at}}`),
  q(`${L} @ {{at}} offset -5m`),
  q(`max_over_time(${L}[10m:1m] @ {{at}})`),

  // ---- range vector selectors (a matrix as an instant query; query_range refuses them) ----------------------------
  q(`${L}[1m]`),
  q(`${C}{cpu="0",mode="user"}[1m] offset 2m`),

  // ---- aggregations ---------------------------------------------------------------------------------------------
  ...SIMPLE_AGGR.flatMap((op) => [q(`${op} by (host, mode) (${C})`), q(`${op} without (cpu) (${C})`)]),
  ...['sum', 'avg', 'count', 'stddev'].map((op) => q(`${op}(${C})`)),
  ...['sum', 'min', 'group'].map((op) => q(`${op} by (nonexistent) (${G})`)),
  q(`sum by () (${G})`),
  q(`sum without () (${G})`),
  q(`avg without (host, mode) (rate(${C}[5m]))`),
  q(`max by (host) (${MEM})`),
  q(`sum(nonexistent_metric_name)`),
  q(`avg(max by (mode) (rate(${C}[5m])))`),
  q(`sum(${L}) by (host)`),
  ...['topk', 'bottomk'].flatMap((op) => [
    q(`${op}(3, rate(${DW}[5m]))`),
    q(`${op} by (host) (1, rate(${DW}[5m]))`),
    q(`${op} without (device) (1, ${MEM})`),
    q(`${op}(-1, ${MEM})`),
    q(`${op}(1000, ${MEM})`),
  ]),
  q(`topk(scalar(count(${G})), ${G})`),
  ...each(['0.5', '0.9', '-0.5', '1.5', 'NaN'], (x) => `quantile(${x}, ${MEM})`),
  q(`quantile by (host) (0.9, rate(${C}[5m]))`),
  q(`count_values("value", ${RUN})`),
  q(`count_values by (host) ("io", ${IO})`),
  q(`count_values("host", ${RUN})`), // overwrites host
  q(`count_values without (host) ("mode", ${RUN})`),
  q(`group by (host) (${C})`),
  q(`stddev by (host) (rate(${C}[5m]))`),

  // ---- binary operators ---------------------------------------------------------------------------------------
  ...each(['==', '!=', '<', '>'], (op) => `${G} + (1 ${op} bool 2)`),
  ...each([...ARITH, '==', '!=', '>=', '<'], (op) => `${G} ${op} 1.2345`),
  ...each(COMP, (op) => `0.5 ${op} bool ${L}`),
  q(`${L} <= bool 0.5`),
  ...each(['<', '>='], (op) => `0.5 ${op} ${L}`),
  ...each(ARITH, (op) => `0.12345 ${op} ${L}`),
  q(`(1 * 2 + 4 / 6 - (10 % 7) ^ 2) - ${L}`),
  ...each([...ARITH, ...COMP], (op) => `${L} ${op} ${L5}`),
  ...each(['==', '>'], (op) => `${L} ${op} bool on(host) ${L5}`),
  q(`${L} - ignoring(nonexistent) ${L5}`),
  q(`${L} / on(host, __name__) ${L}`),
  q(`${L} + on(host, nonexistent) ${L}`),
  q(`rate(${C}[5m]) > bool rate(${C}[5m] offset 5m)`),
  q(`rate(perfwatch_perf_instructions_total[5m]) / rate(perfwatch_perf_cpu_cycles_total[5m])`),
  q(`sum by (host, mode) (rate(${C}[5m])) / on(host) group_left sum by (host) (rate(${C}[5m]))`),
  q(`sum by (host, mode) (rate(${C}[5m])) / on(host) group_left(device) rate(${NR}[5m])`),
  q(`rate(${C}[5m]) * on(host) group_left ${L}`, true),
  q(`${L} * on(host) group_right rate(${DR}[5m])`),
  q(`${L} * on(host) group_right(nonexistent) rate(${DR}[5m])`),
  q(`rate(${DR}[5m]) / ignoring(device) group_left sum without (device) (rate(${DR}[5m]))`),
  q(`sum without (cpu) (rate(${C}[5m])) / ignoring(mode) group_left ${L}`),
  // and, or, unless
  q(`rate(${C}[5m]) > 0.01 and rate(${C}[5m]) < 0.5`),
  q(`${L} and ${L5}`),
  q(`${L} or ${L5}`),
  q(`${L} unless ${L} > 0.5`),
  q(`${L} and on(host) ${C}{mode="user"}`),
  q(`${C}{mode="idle"} or on(cpu) ${C}{mode="user"}`),
  q(`${G} unless on(host) ${L} > 0.5`),
  q(`${C}{mode="user"} unless ignoring(mode) ${C}{mode="system"} > 100000`),
  q(`(${L} > 0.5) or vector(0)`),
  q(`${L}{host="beta"} or ${L5}{host="alpha"}`, true),
  // matching errors: many-to-one without group_left, many-to-many, duplicate label sets
  q(`rate(${C}[5m]) + on(host) ${L}`),
  q(`${C} * on(host) group_left ${C}`),
  q(`{__name__=~"perfwatch_load_average_.*"} + {__name__=~"perfwatch_load_average_.*"}`),
  q(`${L} and on(host) group_left ${L5}`), // group modifiers are not allowed with set operators
  // NaN and infinities
  ...each(['Inf', '-Inf', 'NaN'], (x) => `${L} * ${x}`),
  q(`${G} / 0`),
  q(`-${G} / 0`),
  q(`0 / (${L} - ${L})`),
  q(`${L} == NaN`),
  // unary minus
  q(`-${L}`),
  q(`${L} + -(1)`),
  q(`-rate(${C}{mode="user"}[5m])`),
  q(`- -${L}`),
  // non-constant scalars
  ...each(['+', '/', '^'], (op) => `1 ${op} time()`),
  ...each(['<=', '>='], (op) => `time() ${op} bool 1`),
  q(`time() - time()`),
  q(`time() >= bool time()`),
  q(`time() - ${BOOT}`),
  q(`${G} / time()`),
  q('time() > 1'), // a comparison of scalars needs bool

  // ---- range functions ---------------------------------------------------------------------------------------
  ...RANGES.flatMap((r) => [
    q(`rate(${C}[${r}])`, r === '5m'),
    q(`increase(${CS}[${r}])`, r === '5m'),
  ]),
  q(`irate(${C}{mode="user"}[1m])`, true),
  q(`irate(${C}{mode="user"}[15m])`),
  // Windows shorter than the step: only the samples inside the steps' windows are read (windowSpans).
  q(`irate(${C}{mode="user"}[25s])`),
  q(`rate(${C}{mode="system"}[25s] offset 1m)`),
  q(`delta(${G}[25s])`),
  q(`deriv(${G}[25s])`),
  q(`stddev_over_time(${L}[25s])`),
  q(`deriv(${G}[5m])`),
  q(`deriv(${G}[1h])`),
  ...['5m', '1h'].flatMap((r) => [
    q(`delta(${G}[${r}])`),
    q(`idelta(${G}[${r}])`),
    q(`predict_linear(${G}[${r}], 600)`),
    q(`resets(${CS}[${r}])`),
    q(`changes(${RUN}[${r}])`),
  ]),
  q(`rate(${DR}[5m])`, true),
  q(`rate(nonexistent_metric[5m])`),
  q(`increase(${C}{mode="user", host="gamma"}[1h])`),
  q(`resets(${C}[1h])`),
  q(`predict_linear(${G}[15m], -3600)`),
  ...['avg', 'min', 'max', 'sum', 'count', 'stddev', 'stdvar', 'last', 'present'].flatMap((f) => [
    q(`${f}_over_time(${G}[5m])`),
    q(`${f}_over_time(${L}[1h])`),
  ]),
  q(`avg_over_time(${L}[1m])`, true),
  q(`last_over_time(${L}[1m])`, true),
  q(`count_over_time(${C}[15m])`),
  ...each(['0.5', '-0.5', '1.5', 'NaN'], (x) => `quantile_over_time(${x}, ${L}[15m])`),
  q(`quantile_over_time(0.75, ${G}[1h])`),
  q(`holt_winters(${G}[15m], 0.5, 0.5)`),
  q(`holt_winters(${L}[1h], 0.1, 0.9)`),
  // Prometheus 3's name for holt_winters (an experimental function there)
  { query: `double_exponential_smoothing(${G}[15m], 0.5, 0.5)`, prometheus: `holt_winters(${G}[15m], 0.5, 0.5)` },
  { query: `double_exponential_smoothing(${L}[1h], 0.1, 0.9)`, prometheus: `holt_winters(${L}[1h], 0.1, 0.9)` },
  q(`absent_over_time(${L}[5m])`),
  q(`absent_over_time(${L}{host="beta"}[1m])`, true),
  q(`absent_over_time(nonexistent_metric{host="x", mode=~"y"}[5m])`),

  // ---- instant functions -----------------------------------------------------------------------------------------
  ...each(MATH, (f) => `${f}(${L})`),
  ...each(['abs', 'ln', 'sgn'], (f) => `${f}(-${G})`),
  ...each(TRIG, (f) => `${f}(${L})`),
  q('pi()'),
  q(`round(${L}, 0.1)`),
  q(`round(${G}, 1000)`),
  q(`exp(${G})`),
  q(`clamp_min(${L}, 0.5)`),
  q(`clamp_max(${L}, 0.5)`),
  q(`clamp(${L}, 0.2, 0.6)`),
  q(`clamp(${L}, 1, 0)`),
  q(`clamp(${G}, 0, 1e12)`),
  ...each(DATE, (f) => `${f}()`),
  ...each(['day_of_week', 'hour'], (f) => `${f}(${BOOT} offset 10m)`),
  q(`hour(timestamp(${L}))`),
  q('vector(1.23)'),
  q('vector(time())'),
  q(`scalar(${L})`),
  q(`scalar(${L}{host="alpha"})`, true),
  q(`scalar(sum(${L}))`),
  q(`${L} * scalar(${L}{host="alpha"})`),
  q(`sort(${L})`),
  q(`sort_desc(rate(${C}[5m]))`),
  q(`sort_desc(${MEM})`),
  q(`timestamp(${L})`, true),
  q(`timestamp(timestamp(${L}))`),
  q(`timestamp(${L} * 1)`),
  q(`timestamp(-${L})`),
  q(`timestamp(rate(${C}{mode="user"}[5m]))`),
  q(`absent(${L})`),
  q(`absent(${L}{host="beta"})`, true),
  q(`absent(nonexistent_metric{host="x", mode=~"y"})`),
  q(`absent(sum(nonexistent_metric))`),
  // label_replace and label_join
  q(`label_replace(${L}, "dst", "value-$1", "host", "(al.*)")`),
  q(`label_replace(${L}, "dst", "value-$1", "host", "a")`), // no substring match
  q(`label_replace(${C}{mode="user"}, "dst", "$1-$2", "host", "(.)(.*)")`),
  q(`label_replace(${L}, "dst", "value-$1", "nonexistent", "(.*)")`),
  q(`label_replace(${L}, "dst", "value-$1", "nonexistent", "src-(.*)")`),
  q(`label_replace(${L}, "host", "", "host", "beta")`),
  q(`label_replace(${L}, "host", "$1$1", "host", "(.*)")`),
  q(`label_replace(${L}, "dst", "\${1}x", "host", "(?P<name>.+)")`),
  q(`label_replace(${L}, "dst", "value-$1", "host", "(.*")`), // invalid regex
  q(`label_replace(${L}, "", "", "host", "(.*)")`), // invalid label name (Prometheus 3 takes any other UTF-8 name)
  q(`label_replace(${L}, "host", "", "", "")`), // duplicate output label sets
  q(`label_join(${C}{mode="user"}, "dst", "-", "host", "cpu", "mode")`),
  q(`label_join(${C}{mode="user"}, "host", "/", "cpu", "host")`),
  q(`label_join(${L}, "dst", "-")`),
  q(`label_join(${L}, "", "-", "host")`),
  // classic histograms: buckets made with label_replace (the history has no _bucket series)
  q(`histogram_quantile(0.9, sum by (le) (label_replace(rate(${C}[5m]), "le", "$1", "cpu", "(.*)")))`),
  ...each(['0.9', '-0.5', '1.5'], (x) => `histogram_quantile(${x}, sum by (host, le) (label_replace(rate(${C}{mode=~"user|system"}[5m]), "le", "$1", "cpu", "(.*)")) or sum by (host, le) (label_replace(rate(${C}{mode=~"user|system"}[5m]), "le", "+Inf", "", "")))`),
  q(`histogram_quantile(0.9, sum by (host, le) (label_replace(rate(${DR}[5m]), "le", "0.5", "device", "sr0") or label_replace(rate(${DR}[5m]), "le", "+Inf", "device", "vda")))`),
  q('histogram_quantile(0.9, nonexistent_metric)'),
  q(`histogram_quantile(0.9, ${L})`), // no le label
  q(`histogram_quantile(0.9, label_replace(${L}, "le", "+Inf", "", "") or label_replace(${L5}, "le", "0.5", "", ""))`),

  // ---- subqueries ---------------------------------------------------------------------------------------------
  q(`max_over_time(${L}[10m:1m])`, true),
  q(`max_over_time(${L}[10m:])`),
  q(`avg_over_time(rate(${C}{mode="user"}[1m])[5m:10s])`, true),
  q(`max_over_time((time() - max(timestamp(${L})) < 1000)[5m:10s] offset 5m)`),
  q(`rate(sum(${C})[10m:30s])`),
  q(`max_over_time(avg_over_time(${L}[2m5s:30s])[10m:1m])`),
  q(`sum_over_time(${L}[10m:] offset 1m)`),
  q(`min_over_time(${L}[1h:5m])`),
  q(`deriv(${G}[10m:30s])`),
  q(`count_over_time(${L}{host="beta"}[10m:1m])`, true),
  q(`${L}[5m:1m]`),
  q(`last_over_time(${L}[5m:1m] offset -2m)`),

  // ---- staleness: beta's outage, alpha's sr0, the end of the history --------------------------------------------
  q(`${L}{host="beta"}`, true),
  q(`count(${L})`, true),
  q(`count by (host) (${IO})`, true),
  q(`${IO}{device="sr0"}`, true),
  q(`${L}{host="beta"} offset 1m`, true),
  q(`last_over_time(${L}{host="beta"}[5m])`, true),
  q(`timestamp(${L}{host="beta"})`, true),
  q(`sum by (host) (rate(${C}[5m]))`, true),

  // ---- errors both must give (parse and type errors) ---------------------------------------------------------
  q(`rate(${L})`),
  q(`sum(${L}[5m])`),
  q(`${L}[5m] + 1`),
  q('1 +'),
  q(`abs(${L}, 1)`),
  q(`unknown_function(${L})`),
  q(`quantile_over_time(0.5, ${L})`),
  q(`topk("x", ${L})`),
  q(`${L} offset 5m offset 1m`),
  q(`label_replace(${L}, "dst", "v", "host")`),
];

/** The queries by name; a name occurring twice is a mistake in the list. */
export function queryNames(): string[] {
  const names = QUERIES.map((c) => c.query);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`query listed twice: ${dup}`);
  return names;
}
