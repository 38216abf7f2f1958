import { readOsRelease } from '../procfs/os_release.js';
import { cachedPlan } from './plan.js';
import type { CollectorDefinition } from './types.js';

export const os: CollectorDefinition = {
  name: 'os',
  defaultEnabled: true,
  description: 'the operating system name and version from os-release (<PERFWATCH_ROOTFS>/etc/os-release or /usr/lib/os-release), re-read every minute',
  create: () => {
    // changes with an upgrade, not between collections
    const release = cachedPlan('etc/os-release', (ctx) => readOsRelease(ctx.config.rootfs));
    return {
      collect(ctx) {
        const os = release(ctx);
        return os ? { os } : {};
      },
    };
  },
};
