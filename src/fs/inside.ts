/** Path containment: the one check every "must stay inside this folder" rule uses. */
import { isAbsolute, relative, sep } from 'node:path';

/**
 * Whether `path` lies strictly below `root` (the folder itself is not
 * inside it). Compares the paths as written, normalized: links are not
 * followed, so pass real paths where a link could lead out.
 */
export function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
