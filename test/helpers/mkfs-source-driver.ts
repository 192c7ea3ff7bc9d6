/**
 * A datastore driver over real files for the mkfs-reply tests: its mkfs
 * makes a file in BASE_PATH and prints only its path, as OpenNebula's
 * current mkfs does. Marker files in BASE_PATH change it: `.garble` makes
 * mkfs print the path inside a sentence (a reply ferry refuses), `.fail-rm`
 * makes rm fail.
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = `#!/bin/sh
# Test datastore driver (mkfs prints only the source); every action is a link to this file.
set -eu
action=$(basename "$0")
base=$FERRY_DS_BASE_PATH
case "$action" in
    mkfs)
        mkdir -p "$base"
        src="$base/img-$FERRY_IMAGE_ID-$$"
        : >"$src"
        if [ -e "$base/.garble" ]; then echo "formatted $src in 0.1 s"; else echo "$src"; fi
        ;;
    rm)
        if [ -e "$base/.fail-rm" ]; then echo "ERROR: rm refused by the test" >&2; exit 1; fi
        rm -f "$FERRY_IMAGE_SOURCE"
        ;;
    stat) echo 1 ;;
    monitor) printf 'USED_MB=1\\nTOTAL_MB=1000\\nFREE_MB=999\\n' ;;
    *) echo "ERROR: $action is not supported" >&2; exit 1 ;;
esac
`;

/** Writes datastore/<name> (default onemkfs) into `remotes`; returns its folder. */
export function writeMkfsSourceDriver(remotes: string, name = 'onemkfs'): string {
  const dir = join(remotes, 'datastore', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'driver.sh'), SCRIPT);
  chmodSync(join(dir, 'driver.sh'), 0o755);
  for (const action of ['cp', 'mkfs', 'rm', 'stat', 'monitor']) symlinkSync('driver.sh', join(dir, action));
  return dir;
}
