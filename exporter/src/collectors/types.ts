import type { Snapshot } from '@perfwatch/store/snapshot';
import type { ExporterConfig } from '../config.js';
import type { Logger } from '../log.js';

/** The parts of a Snapshot a collector may fill. */
export type Sections = Omit<Partial<Snapshot>, 'v' | 'host' | 'ts' | 'iv' | 'col'>;

export interface CollectContext {
  config: ExporterConfig;
  /** this collector's child logger. */
  log: Logger;
  /**
   * Reads a kernel file through `read`; a missing file (ENOENT) returns undefined and is logged once
   * at debug, since a file the kernel does not have is absent from the output, not an error.
   */
  optional<T>(file: string, read: () => T): T | undefined;
}

/** One concern (cpu, meminfo, ...): reads its kernel files and returns its Snapshot sections. */
export interface Collector {
  collect(ctx: CollectContext): Sections | Promise<Sections>;
  /** release what the collector holds (perf fds, timers). */
  close?(): void | Promise<void>;
}

export interface CollectorDefinition {
  name: string;
  /** on unless PERFWATCH_COLLECTORS leaves it out. */
  defaultEnabled: boolean;
  description: string;
  create(config: ExporterConfig, log: Logger): Collector;
}
