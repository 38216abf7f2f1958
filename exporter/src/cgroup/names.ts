/**
 * What a cgroup is, from its path alone (pure): the container id that Docker, containerd, CRI-O
 * and podman put in the last path component, the systemd unit, and the Kubernetes pod uid and QoS
 * class. Both cgroup drivers are known:
 *   systemd:  /system.slice/docker-<id>.scope
 *             /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
 *   cgroupfs: /docker/<id>
 *             /kubepods/besteffort/pod<uid>/<id>     (a Guaranteed pod sits directly under /kubepods)
 * Docker's name and image come from its config.v2.json (docker.ts), keyed by the id found here.
 */

export interface CgroupName {
  id?: string;
  unit?: string;
  pod?: string;
  qos?: 'guaranteed' | 'burstable' | 'besteffort';
}

// The id is the last component, alone (cgroupfs) or after a runtime prefix (systemd scopes:
// docker-, cri-containerd-, crio-, libpod-).
const CONTAINER_ID = /^(?:[a-z][a-z-]*-)?([0-9a-f]{64})(?:\.scope)?$/;
const UNIT = /^[^/]+\.(?:service|scope|slice|socket|mount|swap|target|timer|path|device)$/;
// The systemd driver escapes the uid's dashes as underscores in the slice name.
const POD = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;
const KUBEPODS = /^kubepods(?:\.slice)?$/;

export function cgroupName(path: string): CgroupName {
  const parts = path.split('/').filter((p) => p !== '');
  const out: CgroupName = {};
  const last = parts[parts.length - 1];
  if (last === undefined) return out;
  const id = CONTAINER_ID.exec(last);
  if (id) out.id = id[1];
  if (UNIT.test(last)) out.unit = last;
  if (parts[0] !== undefined && KUBEPODS.test(parts[0])) {
    for (const p of parts) {
      const pod = POD.exec(p);
      if (pod) {
        out.pod = pod[1]!.replaceAll('_', '-');
        break;
      }
    }
    if (out.pod) {
      const qos = parts[1] === undefined ? undefined : /^(?:kubepods-)?(burstable|besteffort)(?:\.slice)?$/.exec(parts[1]);
      out.qos = qos ? (qos[1] as 'burstable' | 'besteffort') : 'guaranteed';
    }
  }
  return out;
}
