import { readFileNr } from '../procfs/file_nr.js';
import type { CollectorDefinition } from './types.js';

export const filefd: CollectorDefinition = {
  name: 'filefd',
  defaultEnabled: true,
  description: 'allocated and maximum file handles (/proc/sys/fs/file-nr)',
  create: () => ({
    collect(ctx) {
      const f = ctx.optional('sys/fs/file-nr', () => readFileNr(ctx.config.procRoot));
      if (!f) return {};
      return { fd: { alloc: f.allocated, max: f.max } };
    },
  }),
};
