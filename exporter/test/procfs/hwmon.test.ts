import { expect } from 'chai';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCpufreq } from '../../src/procfs/cpufreq.js';
import { chipLabel, cleanName, discoverHwmon, readHwmon, readHwmonValues } from '../../src/procfs/hwmon.js';
import { readNetClass } from '../../src/procfs/netclass.js';
import { readRapl } from '../../src/procfs/powercap.js';
import { readThermal } from '../../src/procfs/thermal.js';
import { FIXTURES, fileTree } from '../helpers.js';

const LARGE = `${FIXTURES}large/sys`;
const SMALL = `${FIXTURES}small/sys`;


describe('procfs/hwmon', () => {
  it('chip labels are node_exporter\'s: <bus>_<device> of the device link, else the driver name', () => {
    expect(cleanName('coretemp.0')).to.equal('coretemp_0');
    expect(chipLabel('/sys/devices/platform/coretemp.0', 'coretemp', '/sys/class/hwmon/hwmon1')).to.equal('platform_coretemp_0');
    expect(chipLabel('/sys/devices/pci0000:00/0000:00:1d.0/0000:03:00.0/nvme/nvme0', 'nvme', 'x')).to.equal('nvme_nvme0');
    expect(chipLabel(undefined, 'acpitz', '/sys/class/hwmon/hwmon0')).to.equal('acpitz');
    expect(chipLabel(undefined, undefined, '/sys/class/hwmon/hwmon7')).to.equal('hwmon7');
  });

  it('large fixture: every chip through the class symlinks, values in base units', () => {
    const chips = readHwmon(LARGE);
    expect(chips.map((c) => c.chip)).to.deep.equal(['acpitz', 'platform_coretemp_0', 'platform_coretemp_1', 'nvme_nvme0', 'nvme_nvme1', 'platform_nct6775_656', 'lnxsybus:00_acpi000d:00']);
    const core = chips[1]!;
    expect(core.name).to.equal('coretemp');
    expect([...core.sensors.keys()].slice(0, 3)).to.deep.equal(['temp1', 'temp2', 'temp3']); // natural order
    expect(core.sensors.get('temp1')).to.include({ label: 'Package id 0', max: 86, crit: 96 });
    const sio = chips[5]!.sensors;
    expect(sio.get('in1')).to.deep.equal({ input: 1.84, min: 1.8, max: 2, alarm: 1 });
    expect(sio.get('fan2')).to.deep.equal({ input: 0, min: 0, alarm: 0 });
    // power1_average stands in for the missing power1_input; power1_cap is not a threshold we read
    expect(chips[6]!.sensors.get('power1')!.input).to.be.a('number');
  });

  it('old drivers keep their attributes in device/; a duplicate chip label is kept apart', () => {
    const root = fileTree({
      'class/hwmon/hwmon0/name': 'acpitz\n', 'class/hwmon/hwmon0/temp1_input': '27800\n',
      'class/hwmon/hwmon1/name': 'acpitz\n', 'class/hwmon/hwmon1/temp1_input': '29800\n',
      'class/hwmon/hwmon2/name': 'w83627hf\n', 'devices/platform/w83627hf.656/fan1_input': '2700\n',
    });
    symlinkSync('../../../devices/platform/w83627hf.656', join(root, 'class/hwmon/hwmon2/device'));
    const chips = readHwmon(root);
    expect(chips.map((c) => c.chip)).to.deep.equal(['acpitz', 'acpitz_hwmon1', 'platform_w83627hf_656']);
    expect(chips[2]!.sensors.get('fan1')).to.deep.equal({ input: 2700 });
  });

  it('a discovery re-reads inputs and alarms only: thresholds and labels wait for the next one', () => {
    const root = fileTree({ 'class/hwmon/hwmon0/name': 'k10temp\n', 'class/hwmon/hwmon0/temp1_input': '41000\n', 'class/hwmon/hwmon0/temp1_max': '70000\n', 'class/hwmon/hwmon0/temp1_label': 'Tctl\n' });
    const plan = discoverHwmon(root);
    writeFileSync(join(root, 'class/hwmon/hwmon0/temp1_input'), '43500\n');
    writeFileSync(join(root, 'class/hwmon/hwmon0/temp1_max'), '90000\n');
    expect(readHwmonValues(plan)[0]!.sensors.get('temp1')).to.deep.equal({ label: 'Tctl', max: 70, input: 43.5 });
    expect(readHwmon(root)[0]!.sensors.get('temp1')).to.deep.equal({ label: 'Tctl', max: 90, input: 43.5 });
  });

  it('a malformed reading is an error naming the file; a missing class is ENOENT', () => {
    const root = fileTree({ 'class/hwmon/hwmon0/name': 'x\n', 'class/hwmon/hwmon0/temp1_input': 'N/A\n' });
    expect(() => readHwmon(root)).to.throw(/temp1_input:1: not an integer: "N\/A"/);
    expect(() => readHwmon(SMALL)).to.throw().with.property('code', 'ENOENT');
  });
});

describe('procfs/thermal, cpufreq, powercap, netclass (sysfs readers)', () => {
  it('thermal: zones and cooling devices of the large fixture; the KVM guest has an empty class', () => {
    const t = readThermal(LARGE);
    expect(t.zones).to.deep.include({ zone: '0', type: 'acpitz', temp: 27.8 });
    expect(t.cooling).to.have.length(65);
    expect(t.cooling[64]).to.deep.equal({ device: '64', type: 'intel_powerclamp', cur: -1, max: 50 });
    expect(readThermal(SMALL)).to.deep.equal({ zones: [], cooling: [] });
  });

  it('cpufreq: 64 CPUs in hertz; none in the KVM guest; a root-only file is absent, not 0', () => {
    const cpus = readCpufreq(LARGE);
    expect(cpus).to.have.length(64);
    expect(cpus[0]).to.include({ cpu: '0', min: 1e9, max: 3.9e9, smin: 1e9, smax: 3.9e9, governor: 'schedutil' });
    expect(readCpufreq(SMALL)).to.deep.equal([]);
    const root = fileTree({ 'devices/system/cpu/cpu0/cpufreq/scaling_cur_freq': '800000\n' });
    expect(readCpufreq(root)).to.deep.equal([{ cpu: '0', scur: 8e8 }]);
  });

  it('powercap: the RAPL zones, not the control type', () => {
    const zones = readRapl(LARGE);
    expect(zones.map((z) => `${z.zone}=${z.name}`)).to.deep.equal(['intel-rapl:0=package-0', 'intel-rapl:0:0=dram', 'intel-rapl:1=package-1', 'intel-rapl:1:0=dram']);
    expect(zones[0]!.maxEnergy).to.equal(262143.32885);
    expect(() => readRapl(SMALL)).to.throw().with.property('code', 'ENOENT');
  });

  it('netclass: speed in bytes/s, -1 (unknown) and a missing speed absent, excluded and non-interfaces skipped', () => {
    const large = readNetClass(LARGE, /^(lo|veth.*)$/);
    expect(large.map((i) => i.device)).to.deep.equal(['bond0', 'docker0', 'eno1', 'eno2', 'ib0']);
    expect(large[0]).to.deep.include({ operstate: 'up', speed: 50000 * 125000, mtu: 9000, duplex: 'full', carrier: 1 });
    expect(large[1]).to.not.have.property('speed');
    expect(large[4]).to.not.have.property('duplex');
    const small = readNetClass(SMALL, /^(lo|veth.*)$/);
    expect(small).to.deep.equal([{ device: 'eth0', operstate: 'up', address: '52:54:00:ab:cd:ef', duplex: 'unknown', carrier: 1, mtu: 1500, carrierChanges: 2 }]);
  });
});
