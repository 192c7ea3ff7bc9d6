/** Where ferry's own files are, found from this module's location (works for tsc output and the bundle alike). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding ferry's package.json. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'ferry') return (cached = dir);
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find ferry package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The remotes folder shipped with ferry. */
export function bundledRemotes(): string {
  return join(packageRoot(), 'remotes');
}

/** A helper binary the build compiles into dist/libexec (ferry-spawn, ferry-xpath). */
export function libexecPath(name: string): string {
  return join(packageRoot(), 'dist', 'libexec', name);
}
