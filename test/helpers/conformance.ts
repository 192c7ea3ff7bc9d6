/**
 * Helpers for the conformance tests: a throw-away remotes folder whose
 * datastore drivers are the defect fixtures' small correct driver
 * (fixtures/defects/minids.sh) with some actions replaced by a test's own
 * script, and a --datastore file writer.
 */
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../cli/helpers.js';
import { tmpDir } from './fixtures.js';

type Owner = Parameters<typeof tmpDir>[0];

const ACTIONS = ['cp', 'mkfs', 'rm', 'stat', 'clone', 'monitor'] as const;

/**
 * A remotes folder with datastore drivers built on minids.sh: every action
 * links to it unless `scripts` gives the action's own text (a shell script
 * body; the #!/bin/sh line is added). `manifests` adds driver.yaml files.
 */
export function miniRemotes(t: Owner, drivers: Record<string, Partial<Record<(typeof ACTIONS)[number], string>>>, manifests: Record<string, string> = {}): string {
  const remotes = join(tmpDir(t, 'ferry-conformance-remotes-'), 'remotes');
  mkdirSync(join(remotes, 'datastore'), { recursive: true });
  copyFileSync(join(repoRoot, 'fixtures', 'defects', 'minids.sh'), join(remotes, 'minids.sh'));
  chmodSync(join(remotes, 'minids.sh'), 0o755);
  for (const [name, scripts] of Object.entries(drivers)) {
    const dir = join(remotes, 'datastore', name);
    mkdirSync(dir);
    for (const action of ACTIONS) {
      const script = scripts[action];
      if (script === undefined) {
        symlinkSync('../../minids.sh', join(dir, action));
      } else {
        writeFileSync(join(dir, action), `#!/bin/sh\nset -eu\n${script}\n`, { mode: 0o755 });
      }
    }
    if (manifests[name] !== undefined) writeFileSync(join(dir, 'driver.yaml'), manifests[name]);
  }
  return remotes;
}

/** Writes a --datastore YAML file and returns its path. */
export function datastoreFile(t: Owner, text: string): string {
  const file = join(tmpDir(t, 'ferry-conformance-dsfile-'), 'datastore.yaml');
  writeFileSync(file, text);
  return file;
}
