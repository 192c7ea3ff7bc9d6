// Every step of a VM's life with tm/shared and tm/qcow2, run twice in a row (as `vm recover --retry` does after a
// ferry killed once the step had done its work): the second run succeeds and leaves what the first left.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { TM_ACTIONS } from '../../src/contract/table.js';
import { Runner } from '../../src/driver/runner.js';
import { datastores, run } from '../helpers/images.js';
import { state } from '../helpers/tm-state.js';

const remotes = join(dirname(fileURLToPath(import.meta.url)), '../../remotes');
const runner = new Runner({ remotes, env: { FERRY_LOCAL_HOSTS: 'fe host01 host02' } });
type TmAction = (typeof TM_ACTIONS)[number];

for (const driver of ['shared', 'qcow2']) {
  t.test(`tm/${driver}: each step run twice in a row succeeds and leaves the same result`, async (t) => {
    const w = datastores(t, `ferry-tm-twice-${driver}-`);
    const image = join(w.images, 'base');
    const pers = join(w.images, 'pers');
    run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '8M']);
    run('qemu-img', ['create', '-q', '-f', 'qcow2', pers, '8M']);
    const context = join(w.root, 'ctx.sh');
    writeFileSync(context, 'echo hi\n');
    const other = join(w.root, 'datastores', '2', '7');
    const steps: Array<[TmAction, ...string[]]> = [
      ['clone', `fe:${image}`, `host01:${w.vm}/disk.0`, '7', '1'],
      ['ln', `fe:${pers}`, `host01:${w.vm}/disk.1`, '7', '1'],
      ['mkimage', '4', 'qcow2', `host01:${w.vm}/disk.2`, '7', '0'],
      ['mkswap', '4', `host01:${w.vm}/disk.3`, '7', '0'],
      ['context', context, `host01:${w.vm}/disk.4`, '7', '0'],
      ['snap_create', `host01:${w.vm}/disk.2`, '0', '7', '0'],
      ['snap_create_live', `host01:${w.vm}/disk.2`, '1', '7', '0'],
      ['snap_revert', `host01:${w.vm}/disk.2`, '0', '7', '0'],
      ['snap_delete', `host01:${w.vm}/disk.2`, '1', '7', '0'],
      ['mv', `host01:${w.vm}/disk.2`, `host02:${w.vm}/disk.2`, '7', '0'],
      ['mv', `host01:${w.vm}`, `host02:${other}`, '7', '0'],
      ['mv', `host02:${other}`, `host01:${w.vm}`, '7', '0'],
      ['cpds', `host01:${w.vm}/disk.2`, `fe:${w.images}/saved`, '0', '7', '1'],
      ['mvds', `host01:${w.vm}/disk.1`, pers, '7', '1'],
      ['delete', `host01:${w.vm}/disk.3`, '7', '0'],
      ['delete', `host01:${w.vm}`, '7', '0'],
    ];
    for (const [action, ...args] of steps) {
      const line = `${action} ${args.join(' ')}`;
      await runner.run({ kind: 'tm', action, driver, args });
      const once = state(w.root);
      const again = await runner.run({ kind: 'tm', action, driver, args }).catch((error: Error) => error);
      t.notOk(again instanceof Error, `${line}: a second run succeeds${again instanceof Error ? `: ${again.message}` : ''}`);
      t.same(state(w.root), once, `${line}: and leaves the same result`);
    }
  });
}
