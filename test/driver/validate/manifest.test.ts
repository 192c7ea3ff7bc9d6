/** driver.yaml checks, each finding at the line of its key. */
import { join } from 'node:path';
import t from 'tap';
import { ManifestSchema } from '../../../src/driver/manifest.js';
import { validateDriver, type DriverReport } from '../../../src/driver/validate/index.js';
import { SH, bundled, noLint, only, problems, put, remotesWith, systemPath } from './helpers.js';

t.test('bundled manifests parse with the runtime schema, with known capabilities only', async (t) => {
  for (const driver of ['datastore/fs', 'tm/shared', 'tm/qcow2', 'tm/ssh']) {
    const report = await validateDriver(join(bundled, driver), { ...noLint, path: systemPath });
    t.same(only(report, 'capability-unknown'), [], `${driver}: known capabilities`);
    t.same(only(report, 'requires-missing'), [], `${driver}: requires names commands found on this machine`);
  }
  t.ok(ManifestSchema, 'schema exported');
});

t.test('driver.yaml: every check, with the line of the key', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'export'), SH('echo x'), 0o755);
  const manifest = (text: string): Promise<DriverReport> => {
    put(join(dir, 'driver.yaml'), text, 0o644);
    return validateDriver(dir, noLint);
  };
  const codes = (report: DriverReport): string[] => report.findings.filter((f) => f.file.endsWith('driver.yaml')).map((f) => `${f.code}${f.line !== undefined ? `:${f.line}` : ''}`);

  t.same(codes(await manifest('api: 1\nkind: datastore\n')), [], 'a minimal manifest is clean');
  t.same(codes(await manifest('kind: datastore\n')), ['api-missing:1']);
  t.same(codes(await manifest('api: "1"\n')), ['manifest-type:1']);
  t.same(codes(await manifest('api: 1.5\n')), ['manifest-type:1']);
  const old = await manifest('# old\napi: 0\n');
  t.same(codes(old), ['api-version:2']);
  t.match(only(old, 'api-version')[0], { message: /targets driver API 0; this ferry runs API 1\.\.1/, fix: /update the driver/ });
  t.same(codes(await manifest('api: 1\nkind: tm\n')), ['kind-mismatch:2']);
  t.same(codes(await manifest('api: 1\nkind: both\n')), ['manifest-type:2']);
  t.same(codes(await manifest('- api\n- 1\n')), ['manifest-type:1'], 'a list at the top level');
  t.same(codes(await manifest('api: 1\napi: 1\n')), ['manifest-yaml:2'], 'a key given twice');
  const broken = await manifest('api: 1\ntimeouts: [cp\n');
  t.equal(only(broken, 'manifest-yaml').length > 0, true, 'YAML that does not parse');
  t.match(only(broken, 'manifest-yaml')[0], { line: /\d/, message: /not valid YAML/ });

  const timeouts = await manifest('api: 1\ntimeouts:\n  default: 60\n  cp: 600\n  clone.ssh: 60\n  export: 30\n  snapshot: 5\n  stat: 0\n  "a b": 3\n');
  t.same(codes(timeouts), ['timeout-unknown-action:7', 'manifest-type:8', 'manifest-type:9', 'timeout-unknown-action:9']);
  t.match(only(timeouts, 'timeout-unknown-action')[0], { message: /timeouts.snapshot: the driver has no action 'snapshot'/ });

  const caps = await manifest('api: 1\ncapabilities:\n  - snapshots\n  - live-snapshots\n  - teleport\n');
  t.same(codes(caps), ['capability-unknown:4', 'capability-unknown:5']);
  t.match(only(caps, 'capability-unknown')[0], { severity: 'warning', fix: /write it as live_snapshots/ });
  t.match(only(caps, 'capability-unknown')[1], { fix: /use a known capability \(snapshots, / });
  t.same(only(caps, 'missing-action').map((f) => f.message.slice(0, 18)), ['no snap_delete act', 'no snap_flatten ac', 'no snap_revert act'], 'a claimed snapshots needs the snapshot actions');

  const requires = await manifest('api: 1\nrequires: [sh, ferry-no-such-command-zz, "rm -rf /", /bin/sh, /nonexistent/tool]\n');
  t.same(codes(requires), ['requires-invalid:2', 'requires-missing:2', 'requires-missing:2']);
  t.match(only(requires, 'requires-missing')[0], { severity: 'warning', message: /requires ferry-no-such-command-zz, which is not on this machine's PATH/ });
  t.match(only(requires, 'requires-missing')[1], { message: /\/nonexistent\/tool/ });
  const onPath = await validateDriver(dir, { ...noLint, path: '/nonexistent-dir' });
  t.equal(only(onPath, 'requires-missing').length, 3, 'looked up on the PATH given: sh is not in /nonexistent-dir');

  const config = await manifest(
    'api: 1\nconfig:\n  POOL:\n    type: integer\n    default: "rbd"\n  KEY:\n    type: string\n    secret: true\n    default: hunter2\n  BASE_PATH:\n    type: path\n    required: true\n    secrit: true\n',
  );
  t.same(codes(config), ['config-default-type:5', 'manifest-unknown-key:13', 'secret-default:9'], 'errors first, then warnings, each by line');
  t.match(only(config, 'manifest-unknown-key')[0], { message: /unknown key "config.BASE_PATH.secrit"; did you mean "secret"/ });

  const unknown = await manifest('api: 1\ndescripton: x\nfoo: 1\n');
  t.same(codes(unknown), ['manifest-unknown-key:2', 'manifest-unknown-key:3']);
  t.match(only(unknown, 'manifest-unknown-key')[0], { fix: 'rename it to description' });
  t.match(only(unknown, 'manifest-unknown-key')[1], { fix: /remove it; driver.yaml keys are api, kind, description/ });

  t.same(codes(await manifest('')), ['api-missing:1'], 'an empty driver.yaml is an empty manifest');
});

t.test('no manifest: a note saying what one would add', async (t) => {
  const { dir } = remotesWith(t);
  const report = await validateDriver(dir, noLint);
  t.same(problems(report, dir), []);
  t.match(only(report, 'no-manifest')[0], { severity: 'info', file: dir, message: /no driver.yaml/, fix: /api: 1 \(pins the driver API it targets\)/ });
});
