/** fs mkfs of a file system whose tool is missing says what to install in a sentence (issue 13). */
import t from 'tap';
import { buildDump } from '../../src/dump/dump.js';
import { Runner } from '../../src/driver/runner.js';
import { bundledRemotes } from '../../src/config/paths.js';
import { tmpDir } from '../helpers/fixtures.js';

t.test('an unknown mkfs tool: "install the package that provides it"', async (t) => {
  const base = tmpDir(t);
  const runner = new Runner({ remotes: bundledRemotes() });
  const dump = buildDump({
    DATASTORE: { ID: 1, NAME: 'images', DS_MAD: 'fs', TM_MAD: 'shared', TYPE: 0, BASE_PATH: base },
    IMAGE: { ID: 3, NAME: 'data', SIZE: 1, FSTYPE: 'ext9', TYPE: 'DATABLOCK', PERSISTENT: 0 },
  });
  await t.rejects(runner.run({ kind: 'datastore', action: 'mkfs', dump, id: 3 }), {
    code: 'E_DRIVER_FAILED',
    message: /^mkfs\.ext9 is not installed on \S+: install the package that provides it/,
  });
});
