// /proc/net/snmp: IP, ICMP, TCP and UDP MIB counters. Same header/values layout as
// /proc/net/netstat, so the parser lives in netstat.ts; this module keeps one file per kernel file.
// https://www.kernel.org/doc/html/latest/networking/snmp_counter.html
export { readNetSnmp } from './netstat.js';
export type { NetStat } from './netstat.js';
