/** ferry.yaml datastore secrets named by an environment variable or a 0600 file, never shown. */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig, resolveSecrets } from '../../src/config/config.js';
import { world } from '../helpers/catalog-world.js';
import { runCli } from '../cli/helpers.js';
import { rejection, thrown, tmpDir } from '../helpers/fixtures.js';

const FROM_ENV = 'env-canary-Zq81';
const FROM_FILE = 'file-canary-Xw44';

t.test('ferry.yaml reads a secret as a value, { env: VAR } or { file: PATH } relative to the file', async (t) => {
  const dir = tmpDir(t);
  mkdirSync(join(dir, 'conf'));
  const file = join(dir, 'conf', 'ferry.yaml');
  writeFileSync(file, 'datastores:\n  vault:\n    tm_mad: shared\n    base_path: /ds/1\n    secrets: { PLAIN: inline, TOKEN: { env: VAULT_TOKEN }, KEY: { file: keys/vault } }\n');
  const config = await loadConfig(file, dir);
  t.same(config.datastores?.vault?.secrets, { PLAIN: 'inline', TOKEN: { env: 'VAULT_TOKEN' }, KEY: { file: join(dir, 'conf', 'keys', 'vault') } }, 'the file is relative to ferry.yaml');

  mkdirSync(join(dir, 'conf', 'keys'));
  writeFileSync(join(dir, 'conf', 'keys', 'vault'), `${FROM_FILE}\n`, { mode: 0o600 });
  t.same(resolveSecrets('vault', config.datastores?.vault?.secrets, { VAULT_TOKEN: FROM_ENV }), { PLAIN: 'inline', TOKEN: FROM_ENV, KEY: FROM_FILE }, 'read; the file\'s last newline dropped');

  for (const bad of ['{ env: 1 }', '{ env: "A-B" }', '{ file: x, env: Y }', '{ path: x }', '[a]']) {
    writeFileSync(file, `datastores:\n  vault:\n    tm_mad: shared\n    base_path: /ds/1\n    secrets: { TOKEN: ${bad} }\n`);
    const error = await rejection(loadConfig(file, dir));
    t.equal(error.code, 'E_CONFIG', `${bad} is refused`);
    t.match(error.message, /secrets/, 'naming the key');
  }
});

t.test('a missing variable or file, or a file others can read, is refused naming it and never the value', async (t) => {
  const dir = tmpDir(t);
  let error = thrown(() => resolveSecrets('vault', { TOKEN: { env: 'VAULT_TOKEN' } }, {}));
  t.equal(error.code, 'E_CONFIG');
  t.match(error.message, /VAULT_TOKEN/);
  t.match(error.message, /vault's secret TOKEN/);
  t.equal(thrown(() => resolveSecrets('vault', { TOKEN: { env: 'VAULT_TOKEN' } }, { VAULT_TOKEN: '' })).code, 'E_CONFIG', 'an empty variable too');

  const missing = join(dir, 'nope');
  error = thrown(() => resolveSecrets('vault', { KEY: { file: missing } }, {}));
  t.equal(error.code, 'E_CONFIG');
  t.match(error.message, missing);

  const open = join(dir, 'open');
  writeFileSync(open, FROM_FILE);
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    chmodSync(open, mode);
    error = thrown(() => resolveSecrets('vault', { KEY: { file: open } }, {}));
    t.equal(error.code, 'E_CONFIG', `mode ${mode.toString(8)} refused`);
    t.match(error.message, open, 'names the file');
    t.equal(error.hint, `chmod 600 ${open}`, 'and the fix');
    t.notMatch(`${error.message} ${error.hint}`, FROM_FILE, 'never the value');
  }
  chmodSync(open, 0o400);
  t.same(resolveSecrets('vault', { KEY: { file: open } }, {}), { KEY: FROM_FILE }, '0400 is stricter: read');
});

t.test('ferry.yaml secrets from env and file reach the driver, never --json, logs or errors', async (t) => {
  const w = world(t);
  const probe = join(w.remotes, 'datastore', 'probe');
  mkdirSync(probe);
  const seen = join(w.markers, 'seen');
  writeFileSync(
    join(probe, 'monitor'),
    `#!/bin/sh\n# Records the secrets it was given, echoes them to its log, then answers as dummy does.\nset -eu\nprintf '%s %s' "$FERRY_DS_SECRET_TOKEN" "$FERRY_DS_SECRET_KEY" > '${seen}'\necho "INFO: token $FERRY_DS_SECRET_TOKEN key $FERRY_DS_SECRET_KEY" >&2\nprintf 'USED_MB=1\\nTOTAL_MB=2\\nFREE_MB=1\\n'\n`,
  );
  chmodSync(join(probe, 'monitor'), 0o755);
  mkdirSync(join(w.root, 'ds'));
  writeFileSync(join(w.root, 'vault.key'), `${FROM_FILE}\n`, { mode: 0o600 });
  const yaml = join(w.root, 'ferry.yaml');
  writeFileSync(yaml, `frontend: fe\nlog_level: debug\nlog_format: json\ndatastores:\n  vault:\n    ds_mad: probe\n    tm_mad: dummy\n    base_path: ${join(w.root, 'ds')}\n    secrets: { TOKEN: { env: VAULT_TOKEN }, KEY: { file: vault.key } }\n`);
  const ferry = (argv: string[], env: Record<string, string>) =>
    runCli(['--config', yaml, '--remotes', w.remotes, ...argv], { env: { FERRY_HOME: w.home, ...env }, cwd: w.root });

  const monitored = await ferry(['--json', 'datastore', 'monitor', 'vault'], { VAULT_TOKEN: FROM_ENV });
  t.equal(monitored.status, 0, monitored.stderr);
  t.equal(readFileSync(seen, 'utf8'), `${FROM_ENV} ${FROM_FILE}`, 'the driver got both values');
  const shown = await ferry(['--json', 'datastore', 'show', 'vault'], { VAULT_TOKEN: FROM_ENV });
  t.equal(shown.status, 0, shown.stderr);
  for (const [what, text] of [['monitor', monitored.stdout + monitored.stderr], ['show', shown.stdout + shown.stderr]] as const) {
    t.notMatch(text, FROM_ENV, `${what}: not the env value in --json or logs`);
    t.notMatch(text, FROM_FILE, `${what}: not the file value`);
  }
  t.match(monitored.stderr, /token \*\*\* key \*\*\*/, 'the driver\'s log line is masked');

  const unset = await ferry(['--json', 'datastore', 'list'], {});
  t.equal(unset.status, 2, 'a missing variable is refused');
  t.match(unset.stdout + unset.stderr, /VAULT_TOKEN/);
  t.notMatch(unset.stdout + unset.stderr, FROM_FILE, 'the other secret is not shown either');

  chmodSync(join(w.root, 'vault.key'), 0o644);
  const open = await ferry(['--json', 'datastore', 'list'], { VAULT_TOKEN: FROM_ENV });
  t.equal(open.status, 2, 'a file others can read is refused');
  t.match(open.stdout + open.stderr, `chmod 600 ${join(w.root, 'vault.key')}`);
  t.notMatch(open.stdout + open.stderr, FROM_FILE);
  t.notMatch(open.stdout + open.stderr, FROM_ENV);
});
