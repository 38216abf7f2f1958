import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { COLLECTORS, selectCollectors } from '../src/collectors/registry.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('config', () => {
  it('gives documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).to.equal(9101);
    expect(c.intervalSeconds).to.equal(5);
    expect(c.backgroundCollection).to.equal(true);
    expect(c.procRoot).to.equal('/proc');
    expect(c.sysRoot).to.equal('/sys');
    expect(c.rootfs).to.equal('/');
    expect(c.collectors).to.equal(undefined);
    expect(c.diskExclude.source).to.equal(new RegExp(DEFAULTS.diskExclude).source);
    expect(c.logLevel).to.equal('info');
  });

  it('reads every variable it documents', () => {
    const c = loadConfig({
      PERFWATCH_EXPORTER_PORT: '9200',
      PERFWATCH_EXPORTER_HOST: '127.0.0.1',
      PERFWATCH_INTERVAL_SECONDS: '1',
      BACKGROUND_COLLECTION_ENABLED: 'false',
      PERFWATCH_HOSTNAME: 'web-1',
      PERFWATCH_PROC_ROOT: '/host/proc',
      PERFWATCH_SYS_ROOT: '/host/sys',
      PERFWATCH_ROOTFS: '/host/root',
      PERFWATCH_COLLECTORS: 'cpu, meminfo',
      PERFWATCH_DISK_EXCLUDE: '^loop',
      PERFWATCH_NETDEV_EXCLUDE: '^lo$',
      PERFWATCH_NETSTAT_FIELDS: '^Tcp_',
      PERFWATCH_FS_MOUNT_EXCLUDE: '^/boot',
      PERFWATCH_FS_TYPE_EXCLUDE: '^tmpfs$',
      PERFWATCH_FS_TIMEOUT_SECONDS: '0.5',
      PERFWATCH_LOG_LEVEL: 'debug',
    });
    expect(c).to.include({ port: 9200, listenHost: '127.0.0.1', intervalSeconds: 1, backgroundCollection: false, hostname: 'web-1' });
    expect(c).to.include({ procRoot: '/host/proc', sysRoot: '/host/sys', rootfs: '/host/root', fsTimeoutSeconds: 0.5, logLevel: 'debug' });
    expect(c.collectors).to.deep.equal(['cpu', 'meminfo']);
    expect(c.netdevExclude.test('lo')).to.equal(true);
    expect(c.netdevExclude.test('veth0')).to.equal(false);
  });

  const bad: [string, string, RegExp][] = [
    ['PERFWATCH_EXPORTER_PORT', '70000', /PERFWATCH_EXPORTER_PORT: "70000" is not a whole number from 0 to 65535/],
    ['PERFWATCH_EXPORTER_PORT', 'http', /whole number/],
    ['PERFWATCH_INTERVAL_SECONDS', '0.5', /PERFWATCH_INTERVAL_SECONDS: "0.5" is not a number from 1 to 3600/],
    ['BACKGROUND_COLLECTION_ENABLED', 'maybe', /BACKGROUND_COLLECTION_ENABLED: "maybe" is not a boolean: use true or false/],
    ['PERFWATCH_PROC_ROOT', 'proc', /PERFWATCH_PROC_ROOT: "proc" must be an absolute path/],
    ['PERFWATCH_DISK_EXCLUDE', '([', /PERFWATCH_DISK_EXCLUDE: "\(\[" is not a valid regular expression/],
    ['PERFWATCH_LOG_LEVEL', 'loud', /PERFWATCH_LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent/],
    ['PERFWATCH_FS_TIMEOUT_SECONDS', '-1', /PERFWATCH_FS_TIMEOUT_SECONDS/],
  ];
  for (const [name, value, re] of bad) {
    it(`rejects ${name}=${value} with a message naming the variable`, () => {
      expect(() => loadConfig({ [name]: value })).to.throw(ConfigError, re);
    });
  }

  it('rejects an unknown collector and lists the known ones', () => {
    expect(() => selectCollectors(['cpu', 'gpu'])).to.throw(ConfigError, /PERFWATCH_COLLECTORS: unknown collector "gpu"; known: cpu, meminfo/);
  });

  it('selects the default set, or exactly the named collectors in registry order', () => {
    expect(selectCollectors(undefined).map((c) => c.name)).to.deep.equal(COLLECTORS.filter((c) => c.defaultEnabled).map((c) => c.name));
    expect(selectCollectors(['filefd', 'cpu']).map((c) => c.name)).to.deep.equal(['cpu', 'filefd']);
  });

  it('makes the exporter exit non-zero with the message on a bad value', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, PERFWATCH_INTERVAL_SECONDS: 'often' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/configuration error: PERFWATCH_INTERVAL_SECONDS: "often" is not a number from 1 to 3600/);
  });

  it('exits non-zero naming PERFWATCH_COLLECTORS for an unknown collector', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, PERFWATCH_COLLECTORS: 'cpu,nope', PERFWATCH_EXPORTER_PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/PERFWATCH_COLLECTORS: unknown collector "nope"/);
  });
});
