/** What a TM driver left on disk, for comparing one run of a step with a second (test/remotes/tm-twice.test.ts, tm-ssh.test.ts). */
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { qemuInfo, sha256 } from './images.js';

/** What is under each of `roots`: each entry's kind, a link's target, a disk's format, size, backing file and snapshots (a raw file's bytes). */
export function state(...roots: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) out[path] = { link: readlinkSync(path) };
      else if (stat.isDirectory()) {
        out[path] = 'dir';
        walk(path);
      } else {
        const info = qemuInfo(path);
        const disk = { format: info.format, size: info['virtual-size'], backing: info['backing-filename'] ?? null, snapshots: (info.snapshots ?? []).map((s) => s.name) };
        // A swap signature (disk.3) carries a random UUID and an ISO (disk.4) the time it was built: a second run
        // writes others, the same kind of disk.
        out[path] = info.format === 'raw' && !/\.[34]$/.test(name) ? { ...disk, sha: sha256(path) } : disk;
      }
    }
  };
  for (const root of roots) if (existsSync(root)) walk(root);
  return out;
}

