import { machine } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../config.js';
import { parseSysfsLine, parseSysfsString, readAttr } from '../procfs/sysfs.js';
import { cachedPlan } from './plan.js';
import type { CollectorDefinition } from './types.js';

export const uname: CollectorDefinition = {
  name: 'uname',
  defaultEnabled: true,
  description: 'kernel name, release, version, machine, node and domain name, as uname(2) reports them (/proc/sys/kernel)',
  create: () => {
    // the kernel's name, release, version and arch change only with a reboot: read once a minute
    const kernel = cachedPlan('sys/kernel/osrelease', (ctx) => {
      const dir = join(ctx.config.procRoot, 'sys/kernel');
      const get = (f: string) => readAttr(join(dir, f), parseSysfsString);
      const sys = get('ostype');
      const rel = get('osrelease');
      const ver = get('version');
      if (sys === undefined || rel === undefined || ver === undefined) return undefined;
      // kernel/arch is there since Linux 6.1; before, this process's own uname answers, which is
      // the same kernel's unless the proc root is some other tree (then the label is empty).
      const mach = get('arch') ?? (ctx.config.procRoot === DEFAULTS.procRoot ? machine() : '');
      return { sys, rel, ver, mach };
    });
    return {
      collect(ctx) {
        const k = kernel(ctx);
        if (!k) return {};
        const dir = join(ctx.config.procRoot, 'sys/kernel');
        // an unset domain name reads "(none)", as uname -n shows it; a hostname may be empty in a namespace
        const node = readAttr(join(dir, 'hostname'), parseSysfsLine) ?? '';
        const dom = readAttr(join(dir, 'domainname'), parseSysfsLine) ?? '';
        return { uname: { sys: k.sys, rel: k.rel, ver: k.ver, node, dom, mach: k.mach } };
      },
    };
  },
};
