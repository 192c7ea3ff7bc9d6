/** One --json envelope for every command: `ok` and `result` on success, `ok: false` and `error` on failure. */
import { join } from 'node:path';
import t from 'tap';
import { tmpDir } from '../helpers/fixtures.js';
import { jsonOf, runCli, specExamplePath } from './helpers.js';

t.test('catalog commands, ds and failures share the envelope', async (t) => {
  const env = { FERRY_HOME: join(tmpDir(t), 'home') };
  const ferry = async (argv: string[]) => {
    const run = await runCli(['--json', ...argv], { env });
    return { status: run.status, reply: jsonOf(run.stdout) };
  };

  t.match(await ferry(['host', 'create', 'host01', '--local']), { status: 0, reply: { ok: true, result: { name: 'host01', transport: 'local' } } }, 'a record under result');
  t.match(await ferry(['host', 'list']), { status: 0, reply: { ok: true, result: [{ name: 'host01' }] } }, 'a list under result');
  t.match(await ferry(['host', 'delete', 'host01', '--dry-run']), { status: 0, reply: { ok: true, result: { plan: [], deleted: 'host01' } } }, 'a plan under result');
  t.same((await ferry(['image', 'list'])).reply, { ok: true, result: [] }, 'an empty list is still an envelope');
  t.match(await ferry(['ds', 'stat', specExamplePath, '1', '--driver', 'dummy']), { status: 0, reply: { ok: true, kind: 'datastore', action: 'stat', result: Number } }, 'a driver action: its fields and result');

  for (const argv of [['image', 'show', 'nope'], ['vm', 'show', '7'], ['ds', 'stat', specExamplePath, '1', '--driver', 'nosuch']]) {
    const { status, reply } = await ferry(argv);
    t.equal(status, 2, argv.join(' '));
    t.match(reply, { ok: false, error: { code: String, message: String, exitStatus: 2 } }, `${argv.join(' ')}: ok false and error`);
  }
});
