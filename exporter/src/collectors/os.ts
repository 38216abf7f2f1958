import { readOsRelease } from '../procfs/os_release.js';
import type { CollectorDefinition } from './types.js';

export const os: CollectorDefinition = {
  name: 'os',
  defaultEnabled: true,
  description: 'the operating system name and version from os-release (<PERFWATCH_ROOTFS>/etc/os-release or /usr/lib/os-release)',
  create: () => ({
    collect(ctx) {
      const os = ctx.optional('etc/os-release', () => readOsRelease(ctx.config.rootfs));
      return os ? { os } : {};
    },
  }),
};
