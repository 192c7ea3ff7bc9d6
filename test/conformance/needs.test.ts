/**
 * What decides whether a check runs: its `needs` name capabilities of the one
 * vocabulary (src/contract/capabilities.ts), claimed exactly as written.
 * And how the suite's tools (execa) end: output whatever the status, a
 * ToolError when a tool is missing or killed.
 */
import t from 'tap';
import { isCapability } from '../../src/contract/capabilities.js';
import { capabilityClaimed } from '../../src/conformance/context.js';
import { CHECKS } from '../../src/conformance/suite.js';
import { exec, must, ToolError } from '../../src/conformance/tools.js';

const needsOf = (id: string) => [...CHECKS.datastore, ...CHECKS.tm].find((check) => check.id === id)?.needs ?? [];

t.test('every check needs only capabilities driver.yaml can claim', async (t) => {
  for (const check of [...CHECKS.datastore, ...CHECKS.tm]) {
    for (const name of check.needs ?? []) t.ok(isCapability(name), `${check.id} needs ${name}`);
  }
  t.same(needsOf('ds.cp.qcow2'), ['mkfs_qcow2']);
});

t.test('a claim counts when written as the vocabulary writes it', async (t) => {
  t.ok(capabilityClaimed({ capabilities: ['mkfs_qcow2'] }, needsOf('ds.mkfs.qcow2')));
  t.notOk(capabilityClaimed({ capabilities: ['mkfs-qcow2', 'qcow2'] }, needsOf('ds.mkfs.qcow2')), 'other spellings count for nothing, as validate warns');
  t.notOk(capabilityClaimed({}, needsOf('ds.snap_revert')), 'no capabilities at all');
  t.ok(capabilityClaimed({ capabilities: ['system_datastore'] }, needsOf('tm.monitor')), 'a system datastore TM monitors (tm/ssh claims no monitor)');
  t.ok(capabilityClaimed({ capabilities: ['system_datastore'] }, needsOf('tm.context')));
  t.notOk(capabilityClaimed({ capabilities: ['image_datastore', 'snapshots'] }, needsOf('tm.monitor')));
});

t.test('tools: the output whatever the status; a missing or killed tool is a ToolError', async (t) => {
  const result = await exec('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: Buffer.from('bytes\n') });
  t.same(result, { status: 3, stdout: Buffer.from('bytes\n'), stderr: 'oops' });
  await t.rejects(exec('ferry-no-such-tool', []), new ToolError('ferry-no-such-tool is not installed: the conformance suite needs it (apt-get install ferry-no-such-tool)'));
  await t.rejects(exec('sh', ['-c', 'kill -KILL $$']), { name: 'ToolError', message: /^sh could not run: .*SIGKILL/ });
  await t.rejects(must('sh', ['-c', 'echo no >&2; exit 1']), { name: 'ToolError', message: 'sh -c echo no >&2; exit 1 failed (status 1): no' });
});
