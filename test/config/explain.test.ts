/** Schema failures name the key path, what was expected, what was given, and the nearest valid key (issue 13). */
import t from 'tap';
import * as v from 'valibot';
import { VmFileSchema } from '../../src/cli/vm.js';
import { ConfigSchema } from '../../src/config/config.js';
import { explainIssues } from '../../src/config/explain.js';

const vm = (disks: unknown[]): Record<string, unknown> => ({ name: 'web', host: 'h', system_datastore: 0, disks });

t.test('vm.yaml disk mistakes are each named, against the disk shape they resemble', async (t) => {
  t.same(explainIssues(VmFileSchema, vm([{ image: 'x' }, { volatile: 64, persistant: true }])), ['disks.1.persistant: unknown key "persistant" (valid keys here: volatile, format)']);
  t.same(explainIssues(VmFileSchema, vm([{ volatile: 64, format: 'vmdk' }])), ['disks.0.format: expected ("raw" | "qcow2"), got "vmdk"']);
  t.same(explainIssues(VmFileSchema, vm([{ swap: 'lots' }])), ['disks.0.swap: expected a size: MB, or a number with a unit (512M, 1G, 2T), got "lots"']);
  t.same(explainIssues(VmFileSchema, vm([{ swap: '1G' }])), [], 'a size with a unit is a size');
  t.same(explainIssues(VmFileSchema, vm([{}])), ['disks.0: expected one of {image}, {volatile, format}, {swap}, {context}, got an empty mapping']);
  t.same(explainIssues(VmFileSchema, vm([{ imgae: 'x' }])), ['disks.0: expected one of {image}, {volatile, format}, {swap}, {context}, got keys imgae']);
  t.same(explainIssues(VmFileSchema, vm([{ image: 'x' }])), [], 'a good file has no problems');
});

t.test('ferry.yaml: typos get the nearest valid key; wrong types say what was given', async (t) => {
  t.same(explainIssues(ConfigSchema, { timeouts: { defualt: 3 } }), ['timeouts.defualt: unknown key "defualt"; did you mean "default"? (valid keys here: default, datastore, tm)']);
  t.same(explainIssues(ConfigSchema, { kill_grace: 'soon' }), ['kill_grace: expected number, got "soon"']);
  const [line] = explainIssues(ConfigSchema, { timout: 3 });
  t.match(line, /^timout: unknown key "timout"; did you mean "timeouts"\? \(valid keys here: catalog, queue, remotes, timeouts, /);
});

t.test('missing keys and top-level shapes', async (t) => {
  t.same(explainIssues(VmFileSchema, { name: 'web', host: 'h', system_datastore: 0 }), ['disks: required, but missing']);
  const schema = v.union([v.strictObject({ a: v.number() }), v.strictObject({ b: v.string() })]);
  t.same(explainIssues(schema, { b: 1 }), ['b: expected string, got 1'], 'a top-level union is narrowed too');
  t.same(explainIssues(v.number(), 'x'), ['top level: expected number, got "x"']);
});
