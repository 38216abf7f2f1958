/** The readers of edac, nvme, dmi, power_supply and bonding over the fixtures and small fake trees. */
import { expect } from 'chai';
import { readBonding } from '../../src/procfs/bonding.js';
import { readDmi, readNvme } from '../../src/procfs/class_info.js';
import { readEdac } from '../../src/procfs/edac.js';
import { readPowerSupplies } from '../../src/procfs/power_supply.js';
import { FIXTURES, fileTree } from '../helpers.js';

const LARGE = `${FIXTURES}large/sys`;
const SMALL = `${FIXTURES}small/sys`;


describe('procfs: edac, nvme, dmi, power_supply, bonding', () => {
  it('edac: controllers, csrows and the noinfo counts as csrow "unknown"; absent in a VM', () => {
    const mcs = readEdac(LARGE);
    expect(mcs.map((m) => m.controller)).to.deep.equal(['0', '1']);
    expect(mcs[0]!.rows.unknown![1]).to.equal(0);
    expect(Object.keys(mcs[0]!.rows)).to.deep.equal(['0', '1', '2', '3', '4', '5', '6', '7', 'unknown']);
    expect(() => readEdac(SMALL)).to.throw().with.property('code', 'ENOENT');
  });

  it('nvme: trimmed model and serial; dmi: what is readable, root-only fields absent', () => {
    const n = readNvme(LARGE);
    expect(n[0]).to.include({ device: 'nvme0', model: 'SAMSUNG MZQL23T8HCLS-00A07', firmware: 'GDC5602Q', state: 'live' });
    expect(n[0]!.serial).to.match(/^S64HNE0T\d+$/);
    expect(() => readNvme(SMALL)).to.throw().with.property('code', 'ENOENT');
    expect(readDmi(SMALL)).to.include({ sys_vendor: 'QEMU', bios_vendor: 'SeaBIOS' }).and.not.have.property('product_uuid');
    expect(() => readDmi('/nonexistent')).to.throw().with.property('code', 'ENOENT');
  });

  it('power_supply: a laptop battery and adapter in base units; the empty class of a server', () => {
    const root = fileTree({
      'class/power_supply/AC/type': 'Mains\n', 'class/power_supply/AC/online': '1\n',
      'class/power_supply/BAT0/type': 'Battery\n', 'class/power_supply/BAT0/status': 'Charging\n', 'class/power_supply/BAT0/present': '1\n',
      'class/power_supply/BAT0/capacity': '87\n', 'class/power_supply/BAT0/energy_now': '45000000\n', 'class/power_supply/BAT0/power_now': '12500000\n',
      'class/power_supply/BAT0/voltage_now': '12600000\n', 'class/power_supply/BAT0/technology': 'Li-poly\n', 'class/power_supply/BAT0/cycle_count': '231\n',
    });
    const ps = readPowerSupplies(root);
    expect(ps[0]).to.deep.equal({ name: 'AC', type: 'Mains', info: {}, values: { online: 1 } });
    expect(ps[1]!.info).to.deep.equal({ status: 'Charging', technology: 'Li-poly' });
    expect(ps[1]!.values).to.deep.equal({ present: 1, cycle_count: 231, capacity: 0.87, energy_now: 162000, power_now: 12.5, voltage_now: 12.6 });
    expect(readPowerSupplies(SMALL)).to.deep.equal([]);
  });

  it('bonding: slaves and those with MII up; no bonding_masters is ENOENT', () => {
    expect(readBonding(LARGE)).to.deep.equal([{ master: 'bond0', slaves: 2, active: 2 }]);
    const root = fileTree({ 'class/net/bonding_masters': 'bond0 bond1\n', 'class/net/bond0/bonding/slaves': 'eth0 eth1\n', 'class/net/eth0/bonding_slave/mii_status': 'up\n', 'class/net/eth1/bonding_slave/mii_status': 'down\n', 'class/net/bond1/bonding/slaves': '\n' });
    expect(readBonding(root)).to.deep.equal([{ master: 'bond0', slaves: 2, active: 1 }, { master: 'bond1', slaves: 0, active: 0 }]);
    expect(() => readBonding(SMALL)).to.throw().with.property('code', 'ENOENT');
  });
});
