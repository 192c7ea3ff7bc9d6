/**
 * A temporary catalog world for CLI tests of the catalog commands: a
 * remotes folder with the bundled drivers plus tm/flaky (tm/shared that
 * fails or hangs when a marker file says so), a ferry.yaml naming the
 * frontend `fe`, a catalog under FERRY_HOME (on PostgreSQL a database
 * standing for it: test-store.ts), and `stage` to add hosts, datastores
 * and images.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { tmpDir } from './fixtures.js';
import { catalogAt, rawStore, type RawStore } from './test-store.js';
import { bundledRemotes, jsonOf, runCli } from '../cli/helpers.js';

export interface World {
  root: string;
  home: string;
  remotes: string;
  /** Marker files that make tm/flaky fail (fail-<action>) or hang (slow-<action>). */
  markers: string;
  cli(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }>;
  json(argv: string[]): Promise<Record<string, any>>;
  catalog(): Catalog;
  /** A connection to the catalog's store under the catalog (test-store.ts's rawStore), closed on teardown. */
  raw(): RawStore;
}

/** ferry run in `root` with a ferry.yaml there naming the frontend `fe`, `remotes` and FERRY_HOME `home`; json() throws when ferry fails and returns the `result` of its --json envelope. */
export function ferryIn(root: string, remotes: string, home: string): Pick<World, 'cli' | 'json'> {
  writeFileSync(join(root, 'ferry.yaml'), 'frontend: fe\nlog_level: warn\n');
  const cli = (argv: string[]) => runCli(['--config', join(root, 'ferry.yaml'), '--remotes', remotes, ...argv], { env: { FERRY_HOME: home }, cwd: root });
  return {
    cli,
    async json(argv) {
      const result = await cli(['--json', ...argv]);
      if (result.status !== 0) throw new Error(`ferry ${argv.join(' ')} failed (${result.status}): ${result.stdout}${result.stderr}`);
      const reply = jsonOf(result.stdout);
      if (reply.ok !== true || !('result' in reply)) throw new Error(`ferry ${argv.join(' ')}: not a success envelope: ${result.stdout}`);
      return reply.result;
    },
  };
}

/**
 * A temp world: remotes with the bundled fs and shared/qcow2 drivers plus
 * tm/flaky (shared, failing or hanging on demand), a ferry.yaml naming the
 * frontend `fe`, and a catalog under FERRY_HOME.
 */
export function world(t: Test): World {
  const root = tmpDir(t);
  const remotes = join(root, 'remotes');
  const markers = join(root, 'markers');
  mkdirSync(join(remotes, 'datastore'), { recursive: true });
  mkdirSync(join(remotes, 'tm', 'flaky'), { recursive: true });
  mkdirSync(markers);
  // Copies, not links: ferry refuses a driver that resolves outside its remotes folder.
  cpSync(join(bundledRemotes, 'scripts_common.sh'), join(remotes, 'scripts_common.sh'));
  for (const ds of ['fs', 'dummy']) cpSync(join(bundledRemotes, 'datastore', ds), join(remotes, 'datastore', ds), { recursive: true, verbatimSymlinks: true });
  for (const tm of ['shared', 'qcow2', 'dummy']) cpSync(join(bundledRemotes, 'tm', tm), join(remotes, 'tm', tm), { recursive: true, verbatimSymlinks: true });
  for (const action of TM_ACTIONS) {
    const script = join(remotes, 'tm', 'flaky', action);
    writeFileSync(
      script,
      `#!/bin/sh\n# tm/shared, failing or hanging when a marker file says so.\nset -eu\nif [ -e '${markers}/fail-${action}' ]; then echo "ERROR: injected failure in ${action}" >&2; exit 1; fi\nif [ -e '${markers}/slow-${action}' ]; then sleep 30; fi\nexec '${join(bundledRemotes, 'tm', 'shared', action)}' "$@"\n`,
    );
    chmodSync(script, 0o755);
  }
  const home = join(root, 'home');
  return {
    root,
    home,
    remotes,
    markers,
    ...ferryIn(root, remotes, home),
    catalog() {
      // On PostgreSQL, the database the CLI runs of this world use (test-store.ts), its key file in `home` as theirs.
      const catalog = Catalog.open(catalogAt(join(home, 'catalog.db')), undefined, { ...process.env, FERRY_HOME: home });
      t.teardown(() => catalog.close());
      return catalog;
    },
    raw: () => rawStore(t, catalogAt(join(home, 'catalog.db'))),
  };
}

/** Hosts, an image datastore with `tm`, a system datastore, a qcow2 base image and a persistent data image. */
export async function stage(t: Test, w: World, tm: string): Promise<{ images: string; system: string }> {
  const images = join(w.root, 'ds', 'images');
  const system = join(w.root, 'ds', 'system');
  mkdirSync(images, { recursive: true });
  mkdirSync(system, { recursive: true });
  await w.json(['host', 'create', 'host01', '--local']);
  await w.json(['host', 'create', 'host02', '--local']);
  await w.json(['datastore', 'create', 'images', '--ds-mad', 'fs', '--tm-mad', tm, '--base-path', images]);
  await w.json(['datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', tm === 'qcow2' ? 'qcow2' : tm, '--base-path', system]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(w.root, 'base.qcow2'), '32M']);
  const base = await w.json(['image', 'create', '--datastore', 'images', '--path', join(w.root, 'base.qcow2'), '--name', 'base']);
  t.equal(base.state, 'READY', 'base image registered');
  const data = await w.json(['image', 'create', '--datastore', 'images', '--size', '8', '--name', 'data', '--persistent']);
  t.equal(data.state, 'READY', 'persistent image made');
  return { images, system };
}

export function vmYaml(w: World, extra = ''): string {
  const file = join(w.root, 'vm.yaml');
  writeFileSync(file, `name: vm01\nhost: host01\nsystem_datastore: system\ndisks:\n  - image: base\n  - image: data\n${extra}`);
  return file;
}


/** Each of `cases` (ferry's arguments, what stderr must say) is refused with exit status 2; `name` names a case in the assertion (default: all its arguments). */
export async function refusals(t: Test, w: Pick<World, 'cli'>, cases: ReadonlyArray<readonly [readonly string[], RegExp]>, name = (argv: readonly string[]) => argv.join(' ')): Promise<void> {
  for (const [argv, pattern] of cases) {
    const refused = await w.cli([...argv]);
    t.equal(refused.status, 2, `${name(argv)}: exit 2`);
    t.match(refused.stderr, pattern);
  }
}
