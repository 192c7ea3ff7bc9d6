// tm/ssh against real ssh hosts (test/helpers/sshd.ts, as tm-ssh.test.ts): every step of a VM's life run twice in a
// row, as `vm recover --retry` does after a ferry killed once the step had done its work. Its own file: the lab's
// steps are slow, and tm-ssh.test.ts is near the per-file timeout.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { hostsEnv } from '../../src/config/hosts.js';
import { Runner } from '../../src/driver/runner.js';
import { run } from '../helpers/images.js';
import { tmLabFor } from '../helpers/sshd.js';
import { state } from '../helpers/tm-state.js';

const remotes = join(dirname(fileURLToPath(import.meta.url)), '../../remotes');
const { lab, DS, IMAGES, scratch, at } = await tmLabFor(t);
const runner = new Runner({ remotes, env: hostsEnv({ frontend: 'fe', hosts: lab.hosts }, lab.root) });
const tm = (action: string, ...args: string[]) => runner.run({ kind: 'tm', action, driver: 'ssh', args, timeoutSec: 60 });

t.test('each step run twice in a row (a retry after a kill) succeeds and leaves the same result', async (t) => {
  const image = join(IMAGES, 'twice-base');
  const pers = join(IMAGES, 'twice-pers');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '8M']);
  run('qemu-img', ['create', '-q', '-f', 'qcow2', pers, '8M']);
  const context = join(scratch, 'twice-ctx.sh');
  writeFileSync(context, 'echo hi\n');
  const vm = join(DS, '21');
  const steps: Array<[string, ...string[]]> = [
    ['clone', `fe:${image}`, `host01:${vm}/disk.0`, '21', '1'],
    ['ln', `fe:${pers}`, `host01:${vm}/disk.1`, '21', '1'],
    ['mkimage', '4', 'qcow2', `host01:${vm}/disk.2`, '21', '0'],
    ['mkswap', '4', `host01:${vm}/disk.3`, '21', '0'],
    ['context', context, `host01:${vm}/disk.4`, '21', '0'],
    ['snap_create', `host01:${vm}/disk.2`, '0', '21', '0'],
    ['snap_create_live', `host01:${vm}/disk.2`, '1', '21', '0'],
    ['snap_revert', `host01:${vm}/disk.2`, '0', '21', '0'],
    ['snap_delete', `host01:${vm}/disk.2`, '1', '21', '0'],
    ['mv', `host01:${vm}/disk.2`, `host02:${vm}/disk.2`, '21', '0'],
    ['mv', `host02:${vm}/disk.2`, `host01:${vm}/disk.2`, '21', '0'],
    ['mv', `host01:${vm}`, `host02:${vm}`, '21', '0'],
    ['cpds', `host02:${vm}/disk.2`, `fe:${IMAGES}/twice-saved`, '0', '21', '1'],
    ['mvds', `host02:${vm}/disk.1`, pers, '21', '1'],
    ['delete', `host02:${vm}/disk.3`, '21', '0'],
    ['delete', `host02:${vm}`, '21', '0'],
  ];
  const roots = [at('host01', vm), at('host02', vm), IMAGES];
  for (const [action, ...args] of steps) {
    const line = `${action} ${args.join(' ')}`;
    await tm(action, ...args);
    const once = state(...roots);
    const again = await tm(action, ...args).catch((error: Error) => error);
    t.notOk(again instanceof Error, `${line}: a second run succeeds${again instanceof Error ? `: ${again.message}` : ''}`);
    t.same(state(...roots), once, `${line}: and leaves the same result`);
  }
});
