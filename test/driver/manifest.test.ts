import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { API_VERSIONS, configProblems, MANIFEST_FILE, ManifestCache } from '../../src/driver/manifest.js';
import { fixturesRemotes, rejection, tmpDir } from '../helpers/fixtures.js';

t.test('constants', async (t) => {
  t.equal(MANIFEST_FILE, 'driver.yaml');
  t.same(API_VERSIONS, { min: 1, max: 1 });
});

t.test('no driver.yaml: empty manifest', async (t) => {
  const dir = tmpDir(t);
  const cache = new ManifestCache();
  t.same(await cache.load(dir), {});
  t.same(await cache.load(join(fixturesRemotes, 'datastore', 'ok')), {});
  t.same(await cache.load(join(dir, 'does-not-exist')), {});
});

t.test('valid driver.yaml, every key', async (t) => {
  const dir = tmpDir(t);
  writeFileSync(
    join(dir, MANIFEST_FILE),
    [
      'api: 1',
      'kind: datastore',
      'description: test driver',
      'dump: stdin',
      'timeouts:',
      '  default: 2',
      '  stat: 0.25',
      '  clone.ssh: 7',
      'capabilities: [snapshots, clone]',
      'requires: [qemu-img]',
      'config:',
      '  POOL:',
      '    type: string',
      '    default: rbd',
      '    required: true',
      '    secret: false',
      '    description: the pool',
      '',
    ].join('\n'),
  );
  const manifest = await new ManifestCache().load(dir);
  t.same(manifest, {
    api: 1,
    kind: 'datastore',
    description: 'test driver',
    dump: 'stdin',
    timeouts: { default: 2, stat: 0.25, 'clone.ssh': 7 },
    capabilities: ['snapshots', 'clone'],
    requires: ['qemu-img'],
    config: { POOL: { type: 'string', default: 'rbd', required: true, secret: false, description: 'the pool' } },
  });
});

t.test('fixture manifests', async (t) => {
  const cache = new ManifestCache();
  t.same(await cache.load(join(fixturesRemotes, 'datastore', 'timeouts')), { timeouts: { default: 0.5, stat: 0.3 } });
  t.same(await cache.load(join(fixturesRemotes, 'datastore', 'stdinonly')), { dump: 'stdin' });
  t.same(await cache.load(join(fixturesRemotes, 'tm', 'stdinonly')), { dump: 'stdin' });
  // api 99 is a valid manifest; the runner refuses the version, not the loader.
  t.same(await cache.load(join(fixturesRemotes, 'datastore', 'futureapi')), { api: 99 });
});

t.test('empty driver.yaml is an empty manifest', async (t) => {
  const dir = tmpDir(t);
  writeFileSync(join(dir, MANIFEST_FILE), '');
  t.same(await new ManifestCache().load(dir), {});
});

t.test('unknown key: E_BAD_MANIFEST naming the key and the file', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, MANIFEST_FILE);
  writeFileSync(file, 'timeout: 3\n');
  const error = await rejection(new ManifestCache().load(dir));
  t.equal(error.code, 'E_BAD_MANIFEST');
  t.match(error.message, /timeout/);
  t.match(error.message, /unknown key/);
  t.ok(error.message.includes(file), 'message names the file');
  t.ok(error.hint?.includes(file), 'hint names the file');
  t.equal(error.exitStatus, 2);
});

t.test('badmanifest fixture: names the unknown key and the bad dump value', async (t) => {
  const dir = join(fixturesRemotes, 'datastore', 'badmanifest');
  const error = await rejection(new ManifestCache().load(dir));
  t.equal(error.code, 'E_BAD_MANIFEST');
  t.match(error.message, /unknown key "timeout"/);
  t.match(error.message, /dump/);
  t.match(error.message, /sideways/);
  t.ok(error.message.includes(join(dir, MANIFEST_FILE)));
});

t.test('wrong types: E_BAD_MANIFEST naming the key', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['api: one\n', /api/],
    ['api: 1.5\n', /api/],
    ['dump: sideways\n', /dump.*sideways|sideways.*dump/],
    ['kind: vmm\n', /kind/],
    ['timeouts: 5\n', /timeouts/],
    ['timeouts:\n  stat: fast\n', /timeouts\.stat/],
    ['timeouts:\n  stat: 0\n', /timeouts\.stat/],
    ['timeouts:\n  stat: -1\n', /timeouts\.stat/],
    ['timeouts:\n  "bad/name": 3\n', /timeouts/],
    ['capabilities: snapshots\n', /capabilities/],
    ['config:\n  POOL:\n    type: float\n', /config\.POOL\.type/],
    ['config:\n  POOL:\n    colour: red\n', /colour/],
    ['- a list\n- not a map\n', /driver\.yaml/],
  ];
  for (const [text, pattern] of cases) {
    const dir = tmpDir(t);
    writeFileSync(join(dir, MANIFEST_FILE), text);
    const error = await rejection(new ManifestCache().load(dir));
    t.equal(error.code, 'E_BAD_MANIFEST', JSON.stringify(text));
    t.match(error.message, pattern, JSON.stringify(text));
  }
});

t.test('not YAML: E_BAD_MANIFEST', async (t) => {
  const dir = tmpDir(t);
  writeFileSync(join(dir, MANIFEST_FILE), 'dump: [unclosed\n');
  const error = await rejection(new ManifestCache().load(dir));
  t.equal(error.code, 'E_BAD_MANIFEST');
  t.match(error.message, /not valid YAML/);
});

t.test('duplicate keys are refused', async (t) => {
  const dir = tmpDir(t);
  writeFileSync(join(dir, MANIFEST_FILE), 'dump: stdin\ndump: argv\n');
  const error = await rejection(new ManifestCache().load(dir));
  t.equal(error.code, 'E_BAD_MANIFEST');
});

t.test('cache: same object while the file is unchanged, reloaded when its mtime changes', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, MANIFEST_FILE);
  writeFileSync(file, 'dump: stdin\n');
  utimesSync(file, 1_000_000, 1_000_000);
  const cache = new ManifestCache();
  const first = await cache.load(dir);
  t.same(first, { dump: 'stdin' });
  t.equal(await cache.load(dir), first, 'cached object returned');

  // Same mtime, new content: still the cached manifest (the cache keys on mtime).
  writeFileSync(file, 'dump: argv\n');
  utimesSync(file, 1_000_000, 1_000_000);
  t.equal(await cache.load(dir), first, 'unchanged mtime keeps the cache');

  utimesSync(file, 2_000_000, 2_000_000);
  const second = await cache.load(dir);
  t.not(second, first);
  t.same(second, { dump: 'argv' });

  // Broken now: the error shows, it is not hidden by the cache.
  writeFileSync(file, 'dump: sideways\n');
  utimesSync(file, 3_000_000, 3_000_000);
  const error = await rejection(cache.load(dir));
  t.equal(error.code, 'E_BAD_MANIFEST');

  // Fixed again.
  writeFileSync(file, 'api: 1\n');
  utimesSync(file, 4_000_000, 4_000_000);
  t.same(await cache.load(dir), { api: 1 });
});

t.test('cache: file removed -> empty again, re-added -> loaded', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, MANIFEST_FILE);
  writeFileSync(file, 'dump: stdin\n');
  const cache = new ManifestCache();
  t.same(await cache.load(dir), { dump: 'stdin' });
  rmSync(file);
  t.same(await cache.load(dir), {});
  writeFileSync(file, 'dump: argv\n');
  t.same(await cache.load(dir), { dump: 'argv' });
});

t.test('cache: separate folders are separate entries', async (t) => {
  const a = tmpDir(t);
  const b = tmpDir(t);
  writeFileSync(join(a, MANIFEST_FILE), 'dump: stdin\n');
  writeFileSync(join(b, MANIFEST_FILE), 'dump: argv\n');
  const cache = new ManifestCache();
  t.same(await cache.load(a), { dump: 'stdin' });
  t.same(await cache.load(b), { dump: 'argv' });
  t.same(await cache.load(a), { dump: 'stdin' });
});

t.test('configProblems: secrets in clear, required attributes, types', async (t) => {
  const manifest = {
    config: {
      BASE_PATH: { type: 'path' as const, required: true },
      KEY: { secret: true, required: true },
      PORT: { type: 'integer' as const, default: 22 },
      RATIO: { type: 'number' as const },
      THIN: { type: 'boolean' as const },
      ZONE: { required: true, default: 'a' },
    },
  };
  const ok = { template: { PORT: '2222', RATIO: '0.5', THIN: 'YES' }, secrets: { KEY: 'k' }, basePath: '/ds/1' };
  t.same(configProblems(manifest, 'datastore/x', ok), [], 'all well; a required attribute with a default may be left out');
  t.same(
    configProblems(manifest, 'datastore/x', { template: { KEY: 'k', PORT: '22a', RATIO: 'half', THIN: 'maybe' }, secrets: {}, basePath: 'relative' }),
    [
      'BASE_PATH="relative" is not an absolute path, as driver datastore/x expects',
      'KEY is a secret of driver datastore/x (driver.yaml): give it with --secret KEY, which reads $KEY, so it never shows on a command line or in a dump',
      'PORT="22a" is not a whole number, as driver datastore/x expects',
      'RATIO="half" is not a number, as driver datastore/x expects',
      'THIN="maybe" is not YES or NO, as driver datastore/x expects',
    ],
  );
  t.same(configProblems(manifest, 'datastore/x', { template: {}, secrets: {}, basePath: '/ds' }), ['driver datastore/x needs KEY: --secret KEY']);
  t.same(configProblems({}, 'tm/y', ok), [], 'a driver without config: nothing to check');
});
