/** settle and failureOf: a finished process becomes the typed result or the classified error. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { specFor } from '../../../src/contract/lookup.js';
import type { SpawnOutcome } from '../../../src/driver/launch/spawn-group.js';
import type { Located } from '../../../src/driver/locate.js';
import { failureOf, printed, settle } from '../../../src/driver/run/outcome.js';
import type { Prepared } from '../../../src/driver/run/prepare.js';
import { silentLogger, type Logger } from '../../../src/log/logger.js';
import { thrown, tmpDir } from '../../helpers/fixtures.js';

const located: Located = {
  kind: 'datastore',
  driver: 'fs',
  action: 'stat',
  script: 'stat',
  path: '/remotes/datastore/fs/stat',
  realPath: '/remotes/datastore/fs/stat',
  driverDir: '/remotes/datastore/fs',
};
const prepared: Prepared = { argv: ['PD94', '7'], input: undefined, shown: ['<dump: 4 bytes>', '7'], timeoutSec: 30 };
const spec = specFor('datastore', 'stat');

function finished(fields: Partial<SpawnOutcome> = {}): SpawnOutcome {
  return {
    pid: 4242,
    exitCode: 0,
    signal: null,
    stdout: '40\n',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    timedOut: false,
    cancelled: false,
    lingered: false,
    durationMs: 1.234,
    ...fields,
  };
}

/** A logger that keeps what it is given. */
function recording(): { logger: Logger; records: Array<[string, object, string | undefined]> } {
  const records: Array<[string, object, string | undefined]> = [];
  const logger: Logger = {
    child: () => logger,
    error: (obj, msg) => records.push(['error', obj, msg]),
    warn: (obj, msg) => records.push(['warn', obj, msg]),
    info: (obj, msg) => records.push(['info', obj, msg]),
    debug: (obj, msg) => records.push(['debug', obj, msg]),
  };
  return { logger, records };
}

t.test('success: parsed result, the command shown, log records passed on', async (t) => {
  const { logger, records } = recording();
  const result = settle(finished({ stderr: 'INFO: measuring\nWARN: slow disk\n' }), located, spec, '7', prepared, undefined, logger);
  t.match(result, { ok: true, kind: 'datastore', driver: 'fs', action: 'stat', script: 'stat', id: '7', result: 40, exitCode: 0, durationMs: 1.2 });
  t.same(result.command, ['/remotes/datastore/fs/stat', '<dump: 4 bytes>', '7']);
  t.same(result.logs, [{ level: 'info', message: 'measuring' }, { level: 'warn', message: 'slow disk' }]);
  t.same(records, [['info', { source: 'driver' }, 'measuring'], ['warn', { source: 'driver' }, 'slow disk']]);
  t.equal(settle(finished({ stdout: 'raw' }), located, spec, '7', prepared, false, silentLogger).result, 'raw', 'parse: false passes stdout through');
});

t.test('lingering leftovers are warned about', async (t) => {
  const { logger, records } = recording();
  settle(finished({ lingered: true }), located, spec, '7', prepared, undefined, logger);
  t.match(records, [['warn', { source: 'ferry' }, /kept its output open/]]);
});

t.test('malformed or cut output of an action that returns a result', async (t) => {
  const bad = thrown(() => settle(finished({ stdout: 'lots\n' }), located, spec, '7', prepared, undefined, silentLogger));
  t.equal(bad.code, 'E_MALFORMED_OUTPUT');
  t.match(bad.message, /it printed "lots\\n"/);
  t.equal(bad.id, '7', 'with the run facts');
  const cut = thrown(() => settle(finished({ stdoutTruncated: true }), located, spec, '7', prepared, undefined, silentLogger));
  t.match(cut.message, /cut at the capture limit/);
  t.equal(printed('  \n'), 'nothing');
  t.equal(printed('x'.repeat(300)), JSON.stringify(`${'x'.repeat(200)}...`));
});

t.test('failures, classified in order', async (t) => {
  const facts = { kind: 'datastore', driver: 'fs', action: 'stat' };
  const spawnError = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`spawn ${code}`), { code });
  t.equal(failureOf(finished(), '', located, 30, facts), undefined, 'exit 0 is no failure');
  t.match(failureOf(finished({ exitCode: null, spawnError: spawnError('ESPAWNHELPER') }), '', located, 30, facts), { code: 'E_SPAWN', hint: /FERRY_SPAWN=node/ });
  t.match(failureOf(finished({ exitCode: null, spawnError: spawnError('EACCES') }), '', located, 30, facts), { code: 'E_SPAWN', message: /EACCES/, hint: /chmod \+x/ });
  t.match(failureOf(finished({ exitCode: null, timedOut: true }), 'waiting on nfs', located, 30, facts), { code: 'E_TIMEOUT', message: 'datastore fs/stat timed out after 30 s: waiting on nfs' });
  t.match(failureOf(finished({ exitCode: null, cancelled: true }), '', located, 30, facts), { code: 'E_CANCELLED', message: 'datastore fs/stat was cancelled' });
  t.match(failureOf(finished({ exitCode: 3 }), 'disk full', located, 30, facts), { code: 'E_DRIVER_FAILED', message: 'disk full' });
  t.match(failureOf(finished({ exitCode: null, signal: 'SIGKILL' }), '', located, 30, facts), { message: 'datastore fs/stat was killed by SIGKILL' });
  const logs = [{ level: 'error' as const, message: 'no space' }, { level: 'info' as const, message: 'hm' }];
  t.match(failureOf(finished({ exitCode: 1 }), '', located, 30, { ...facts, logs }), { message: 'no space (datastore fs/stat exited with status 1)' }, 'ERROR: lines stand for the message');
});

t.test('a missing interpreter is named from the #! line', async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, 'stat');
  writeFileSync(path, '#!/no/such/python3\nprint(1)\n');
  chmodSync(path, 0o755);
  const error = failureOf(finished({ exitCode: null, spawnError: Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' }) }), '', { ...located, path }, 30, {});
  t.match(error, { code: 'E_SPAWN', message: `cannot start ${path}: its interpreter /no/such/python3 does not exist (ENOENT)` });
});
