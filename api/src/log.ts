import pino from 'pino';
import type { LogLevel } from './config.js';

export type Logger = pino.Logger;

/**
 * The one structured logger; components take child loggers ({ component }), requests get the
 * access log's child (access-log.ts) with their request id. Credentials never reach it: request
 * logs carry the method, route and status only, and config values are never logged whole.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'api' } }, destination ?? pino.destination(1));
}
