/**
 * Docker's own record of a container: <rootfs>/var/lib/docker/containers/<id>/config.v2.json,
 * the engine's file (no API call, so no socket access is needed). Name is "/web" (the leading
 * slash dropped here), Config.Image is the image as it was asked for ("nginx:1.25").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DockerContainer {
  name?: string;
  image?: string;
}

/** Name and image from config.v2.json's text; a file that is not such JSON throws (SyntaxError, Error). */
export function parseDockerConfig(text: string, file: string): DockerContainer {
  const j = JSON.parse(text) as { Name?: unknown; Config?: { Image?: unknown } };
  if (j === null || typeof j !== 'object') throw new Error(`${file}: not a JSON object`);
  const out: DockerContainer = {};
  if (typeof j.Name === 'string' && j.Name !== '') out.name = j.Name.replace(/^\//, '');
  if (typeof j.Config?.Image === 'string' && j.Config.Image !== '') out.image = j.Config.Image;
  return out;
}

export function dockerConfigPath(rootfs: string, id: string): string {
  return join(rootfs, 'var/lib/docker/containers', id, 'config.v2.json');
}

/** undefined where there is no such file (a container of containerd, CRI-O or podman). */
export function readDockerConfig(rootfs: string, id: string): DockerContainer | undefined {
  const file = dockerConfigPath(rootfs, id);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseDockerConfig(text, file);
}
