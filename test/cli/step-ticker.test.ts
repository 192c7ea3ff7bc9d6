/** On a terminal, a VM operation shows the step in flight (its name, elapsed time) and clears it; quiet on a pipe. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { stepLine, stepTarget } from '../../src/cli/progress.js';
import { bundledRemotes, runCli } from './helpers.js';
import { stage, vmYaml, world, type World } from '../helpers/catalog-world.js';

/** tm/slow: tm/shared that sleeps 1.5 s before an action while a marker pause-<action> exists. */
function slowDriver(w: World): void {
  mkdirSync(join(w.remotes, 'tm', 'slow'), { recursive: true });
  for (const action of TM_ACTIONS) {
    const script = join(w.remotes, 'tm', 'slow', action);
    writeFileSync(script, `#!/bin/sh\n# tm/shared, slower while a marker file says so.\nset -eu\nif [ -e '${w.markers}/pause-${action}' ]; then sleep 1.5; fi\nexec '${join(bundledRemotes, 'tm', 'shared', action)}' "$@"\n`);
    chmodSync(script, 0o755);
  }
}

const cli = (w: World, argv: string[], options: { stderrIsTTY: boolean; env?: Record<string, string> }) =>
  runCli(['--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, ...argv], { env: { FERRY_HOME: w.home, ...options.env }, cwd: w.root, stderrIsTTY: options.stderrIsTTY });

// eslint-disable-next-line no-control-regex
const TICK = /\r\x1b\[2K {2}… \[1\/2\] CLONE slow fe:\S+ \S* {2}\d+\.\d s(?: {2}[0-9.]+ [KMG]iB)?(?=\r)/;
// eslint-disable-next-line no-control-regex
const CLEARED = /\r\x1b\[2K {2}ok {3}\[1\/2\] CLONE slow/;

t.test('on a terminal: the step in flight, with its elapsed time, then cleared before its ok line', async (t) => {
  const w = world(t);
  slowDriver(w);
  await stage(t, w, 'slow');
  writeFileSync(join(w.markers, 'pause-clone'), '');
  const created = await cli(w, ['vm', 'create', vmYaml(w)], { stderrIsTTY: true, env: { NO_COLOR: '1' } });
  t.equal(created.status, 0, created.stderr);
  t.match(created.stderr, TICK, 'the ticker line names the step and the time so far');
  t.match(created.stderr, CLEARED, 'the line is cleared when the step ends, then its ok line printed');
  // eslint-disable-next-line no-control-regex
  t.notMatch(created.stderr, /\x1b\[[0-9;]*m/, 'no colour with NO_COLOR');
});

t.test('on a pipe: only the lines of steps that ended', async (t) => {
  const w = world(t);
  slowDriver(w);
  await stage(t, w, 'slow');
  writeFileSync(join(w.markers, 'pause-clone'), '');
  const created = await cli(w, ['vm', 'create', vmYaml(w)], { stderrIsTTY: false });
  t.equal(created.status, 0, created.stderr);
  // eslint-disable-next-line no-control-regex
  t.notMatch(created.stderr, /\r|\x1b/, 'no redraws');
  t.match(created.stderr, /ok {3}\[1\/2\] CLONE slow/);
});

t.test('the line: cut to the terminal, bytes when the target has some; copying steps name their local target', async (t) => {
  t.equal(stepLine('[1/2] CLONE shared fe:/a host01:/b', 2.25, 0), '  … [1/2] CLONE shared fe:/a host01:/b  2.3 s');
  t.match(stepLine('[1/2] CLONE shared fe:/a host01:/b', 3, 5 * 1024 * 1024), /  3\.0 s  5\.0 MiB$/);
  t.ok(stepLine('x'.repeat(300), 1, 0, 80).length < 80, 'fits an 80-column terminal');
  t.equal(stepTarget({ kind: 'tm', action: 'clone', driver: 'shared', args: ['fe:/a', 'host01:/ds/1/disk.0', '1', '0'], why: '' }), '/ds/1/disk.0');
  t.equal(stepTarget({ kind: 'tm', action: 'mkimage', driver: 'shared', args: ['8', 'raw', 'host01:/ds/1/disk.2', '1', '0'], why: '' }), undefined, 'not a copy');
});
