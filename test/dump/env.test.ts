import t from 'tap';
import { buildDump, readDump } from '../../src/dump/dump.js';
import { DUMP_ENV, DUMP_ENV_PATTERN, MAX_ENV_VALUE, dumpEnv, envName } from '../../src/dump/env.js';
import { specExampleXml } from '../helpers/fixtures.js';

t.test('the spec example: every well-known field, template attributes under their prefixes', async (t) => {
  const env = dumpEnv(readDump(specExampleXml()));
  t.same(env, {
    FERRY_IMAGE_ID: '0',
    FERRY_IMAGE_NAME: 'ttylinux',
    FERRY_IMAGE_SOURCE: '',
    FERRY_IMAGE_PATH: '/tmp/ttylinux.img',
    FERRY_IMAGE_SIZE: '40',
    FERRY_IMAGE_FORMAT: '',
    FERRY_IMAGE_FSTYPE: '',
    FERRY_IMAGE_PERSISTENT: '0',
    FERRY_IMAGE_TYPE: '0',
    FERRY_DS_ID: '1',
    FERRY_DS_NAME: 'default',
    FERRY_DS_BASE_PATH: '',
    FERRY_DS_MAD: 'fs',
    FERRY_TM_MAD: 'shared',
    FERRY_DS_TYPE: '0',
    FERRY_TARGET_SNAPSHOT: '',
    FERRY_DS_MONITOR_HOST: '',
    FERRY_IMAGE_TEMPLATE_DEV_PREFIX: 'hd',
    FERRY_IMAGE_TEMPLATE_PUBLIC: 'YES',
    FERRY_DS_TEMPLATE_CLONE_TARGET: 'SYSTEM',
    FERRY_DS_TEMPLATE_DISK_TYPE: 'FILE',
    FERRY_DS_TEMPLATE_DS_MAD: 'fs',
    FERRY_DS_TEMPLATE_LN_TARGET: 'NONE',
    FERRY_DS_TEMPLATE_TM_MAD: 'shared',
    FERRY_DS_TEMPLATE_TYPE: 'IMAGE_DS',
  });
  for (const name of Object.keys(env)) t.match(name, DUMP_ENV_PATTERN, `${name} is cleared from inherited environments`);
  t.equal(Object.keys(DUMP_ENV).length, 17);
});

t.test('BASE_PATH from DATASTORE, else from its template; snapshot id; odd names; long and vector values left out', async (t) => {
  const long = 'x'.repeat(MAX_ENV_VALUE + 1);
  const env = dumpEnv(
    buildDump({
      IMAGE: { ID: 5, TEMPLATE: { 'md5-sum': 'abc', lower: 'v', LONG: long, VECTOR: { A: '1' }, REPEATED: ['a', 'b'] } },
      DATASTORE: { ID: 2, TEMPLATE: { BASE_PATH: '/from/template' } },
      TARGET_SNAPSHOT: 3,
    }),
  );
  t.equal(env.FERRY_DS_BASE_PATH, '/from/template');
  t.equal(env.FERRY_TARGET_SNAPSHOT, '3');
  t.equal(env.FERRY_IMAGE_TEMPLATE_MD5_SUM, 'abc');
  t.equal(env.FERRY_IMAGE_TEMPLATE_LOWER, 'v');
  t.notOk('FERRY_IMAGE_TEMPLATE_LONG' in env, 'values over the limit are read with xpath instead');
  t.notOk('FERRY_IMAGE_TEMPLATE_VECTOR' in env);
  t.notOk('FERRY_IMAGE_TEMPLATE_REPEATED' in env);
  const both = dumpEnv(buildDump({ DATASTORE: { ID: 2, BASE_PATH: '/direct', TEMPLATE: { BASE_PATH: '/from/template' } } }));
  t.equal(both.FERRY_DS_BASE_PATH, '/direct', 'DATASTORE/BASE_PATH wins');
  t.equal(both.FERRY_IMAGE_ID, '', 'a dump without IMAGE still sets the image variables, empty');
  t.equal(envName('a-b.c'), 'A_B_C');
});
