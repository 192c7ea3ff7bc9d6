/** A driver that prints a secret value never has ferry repeat it (issue 13): messages, logs, stdout, stderr, the logger. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Runner } from '../../src/driver/runner.js';
import { MASK } from '../../src/log/mask.js';
import type { Logger } from '../../src/log/logger.js';
import { dumpFor, tmpDir } from '../helpers/fixtures.js';

const SECRET = 'hunter2-Sekr3t';

/** datastore/leaky: stat echoes $FERRY_DS_SECRET_PASSWORD in an INFO line, on stdout, and (when LEAK_FAIL) in its failure message. */
function leakyRemotes(t: Parameters<Parameters<typeof t.test>[1]>[0]): string {
  const remotes = tmpDir(t, 'ferry-secrets-');
  mkdirSync(join(remotes, 'datastore', 'leaky'), { recursive: true });
  const script = join(remotes, 'datastore', 'leaky', 'stat');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      'set -eu',
      'echo "INFO: logging in with $FERRY_DS_SECRET_PASSWORD" >&2',
      'if [ -n "${LEAK_FAIL:-}" ]; then echo "login failed for password $FERRY_DS_SECRET_PASSWORD" >&2; exit 3; fi',
      'echo "40 $FERRY_DS_SECRET_PASSWORD"',
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  return remotes;
}

/** A logger that keeps every message it is given. */
function keepingLogger(kept: string[]): Logger {
  const logger: Logger = {
    child: () => logger,
    error: (obj, msg) => void kept.push(JSON.stringify([obj, msg])),
    warn: (obj, msg) => void kept.push(JSON.stringify([obj, msg])),
    info: (obj, msg) => void kept.push(JSON.stringify([obj, msg])),
    debug: (obj, msg) => void kept.push(JSON.stringify([obj, msg])),
  };
  return logger;
}

t.test('a failing driver that prints the secret: masked in the error and everything it carries', async (t) => {
  const kept: string[] = [];
  const runner = new Runner({ remotes: leakyRemotes(t), logger: keepingLogger(kept) });
  const error = await runner
    .run({ kind: 'datastore', action: 'stat', dump: dumpFor('leaky'), id: 1, env: { FERRY_DS_SECRET_PASSWORD: SECRET, LEAK_FAIL: '1' }, parse: false })
    .then(() => undefined, (caught: unknown) => caught);
  t.match(error, { code: 'E_DRIVER_FAILED', message: `login failed for password ${MASK}` });
  const everything = JSON.stringify(error, Object.getOwnPropertyNames(error)) + JSON.stringify((error as { logs: unknown }).logs) + kept.join('\n');
  t.notMatch(everything, SECRET, 'the secret appears nowhere');
  t.match(kept.join('\n'), `logging in with ${MASK}`, 'the log line is kept, masked');
});

t.test('a succeeding driver: stdout, stderr and logs masked', async (t) => {
  const runner = new Runner({ remotes: leakyRemotes(t) });
  const result = await runner.run({ kind: 'datastore', action: 'stat', dump: dumpFor('leaky'), id: 1, env: { FERRY_DS_SECRET_PASSWORD: SECRET }, parse: false });
  t.equal(result.stdout, `40 ${MASK}\n`);
  t.notMatch(JSON.stringify(result), SECRET);
});

t.test('without secrets nothing is changed', async (t) => {
  const runner = new Runner({ remotes: leakyRemotes(t) });
  const result = await runner.run({ kind: 'datastore', action: 'stat', dump: dumpFor('leaky'), id: 1, env: { FERRY_DS_SECRET_PASSWORD: '' }, parse: false });
  t.equal(result.stdout, '40 \n');
});
