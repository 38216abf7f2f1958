import pino from 'pino';
import type { LogLevel } from './config.js';

export type Logger = pino.Logger;

/** The one structured logger; components take child loggers ({ collector }, { component }). */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'exporter' } }, destination ?? pino.destination(1));
}
