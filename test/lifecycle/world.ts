/**
 * A catalog world for the lifecycle services, library-level: a temp
 * catalog (a SQLite file, or a fresh PostgreSQL database under
 * FERRY_TEST_STORE=postgres) with an IMAGE datastore (datastore/dummy) and a SYSTEM one, two
 * local hosts, and remotes with the dummy drivers plus tm/flaky (tm/dummy
 * that fails an action while a marker file fail-<action> exists).
 */
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { Runner } from '../../src/driver/runner.js';
import type { LifecycleOptions, StepEvent } from '../../src/lifecycle/journal.js';
import { bundledRemotes } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';
import { openTestCatalog } from '../helpers/test-store.js';

export function lifeWorld(t: Test, tm: 'dummy' | 'flaky' = 'dummy') {
  const dir = tmpDir(t);
  const remotes = join(dir, 'remotes');
  const markers = join(dir, 'markers');
  mkdirSync(join(remotes, 'tm', 'flaky'), { recursive: true });
  mkdirSync(markers);
  cpSync(join(bundledRemotes, 'datastore'), join(remotes, 'datastore'), { recursive: true, verbatimSymlinks: true });
  for (const driver of ['dummy', 'shared']) cpSync(join(bundledRemotes, 'tm', driver), join(remotes, 'tm', driver), { recursive: true, verbatimSymlinks: true });
  cpSync(join(bundledRemotes, 'scripts_common.sh'), join(remotes, 'scripts_common.sh'));
  for (const action of TM_ACTIONS) {
    const script = join(remotes, 'tm', 'flaky', action);
    writeFileSync(script, `#!/bin/sh\n# tm/dummy, failing while a marker file says so.\nset -eu\nif [ -e '${markers}/fail-${action}' ]; then echo "ERROR: injected failure in ${action}" >&2; exit 1; fi\nexec '${join(bundledRemotes, 'tm', 'dummy', action)}' "$@"\n`);
    chmodSync(script, 0o755);
  }
  const catalog = openTestCatalog(t, dir);
  const images = catalog.addDatastore({ name: 'images', type: 'IMAGE', dsMad: 'dummy', tmMad: tm, basePath: join(dir, 'images') });
  const system = catalog.addDatastore({ name: 'system', type: 'SYSTEM', tmMad: tm, basePath: join(dir, 'system') });
  catalog.addHost({ name: 'host01', transport: 'local' });
  catalog.addHost({ name: 'host02', transport: 'local' });
  const events: StepEvent[] = [];
  const life: LifecycleOptions = { catalog, runner: new Runner({ remotes }), frontend: 'fe', onStep: (event) => events.push(event) };
  /** Makes tm/flaky fail `action` from now on. */
  const fail = (action: string) => writeFileSync(join(markers, `fail-${action}`), '');
  return { dir, catalog, life, images, system, events, fail, markers };
}
