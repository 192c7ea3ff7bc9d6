import t from 'tap';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  CONTRACT,
  DATASTORE_CONTRACT,
  EXTRA_ACTIONS,
  DS_ACTIONS,
  GENERIC_CONTRACT,
  KINDS,
  TM_ACTIONS,
  TM_CONTRACT,
  baseAction,
  isKind,
  isKnownAction,
  specFor,
  type ActionSpec,
  type DsAction,
  type DumpFields,
} from '../../src/contract/table.js';
import { usageOf } from '../../src/contract/args.js';
import { parseImageSource, parseMkfsSource, parseMonitor, parseNothing, parseRaw, parseSize, parseSource } from '../../src/contract/parsers.js';
import { buildDump, readDump } from '../../src/dump/dump.js';
import { readFileSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

// Compile-time check: a datastore table missing a row does not type-check.
// The directive below is itself checked: the 'the compiler rejects …' test
// type-checks this file, and an unused @ts-expect-error is error TS2578.
const { stat: _droppedRow, ...tableWithoutStat } = DATASTORE_CONTRACT;
// @ts-expect-error the stat row is missing, so this is not a full datastore table
const incompleteTable: { [A in DsAction]: ActionSpec<unknown> } = tableWithoutStat;
void incompleteTable;

/** A DumpFields over a fixed map of paths. */
const fields = (values: Record<string, string>): DumpFields => ({ get: (path) => values[path] });

t.test('every action has a row', async (t) => {
  t.same([...KINDS], ['datastore', 'tm']);
  t.same(Object.keys(DATASTORE_CONTRACT).sort(), [...DS_ACTIONS].sort(), 'datastore rows are exactly DS_ACTIONS');
  t.same(Object.keys(TM_CONTRACT).sort(), [...TM_ACTIONS].sort(), 'tm rows are exactly TM_ACTIONS');
  t.equal(CONTRACT.datastore, DATASTORE_CONTRACT);
  t.equal(CONTRACT.tm, TM_CONTRACT);
  const check = (kind: string, action: string, row: ActionSpec<unknown> | undefined): void => {
    t.ok(row, `${kind}/${action} has a row`);
    if (!row) return;
    t.type(row.summary, 'string', `${kind}/${action} summary`);
    t.ok(row.summary.length > 0, `${kind}/${action} summary is not empty`);
    t.type(row.parse, 'function', `${kind}/${action} parse is a function`);
    t.ok(Array.isArray(row.args), `${kind}/${action} args is a list`);
    t.ok(row.args.length > 0, `${kind}/${action} has arguments`);
    for (const arg of row.args) {
      t.ok(typeof arg.name === 'string' && arg.name.length > 0, `${kind}/${action} argument has a name`);
      t.ok(typeof arg.type === 'string' && arg.type.length > 0, `${kind}/${action} ${arg.name} has a type`);
    }
    t.ok(row.args.filter((a) => a.variadic).length <= 1, `${kind}/${action} has at most one variadic argument`);
    t.ok(Number.isFinite(row.timeoutSec) && row.timeoutSec > 0, `${kind}/${action} timeout ${row.timeoutSec} is positive`);
    t.type(row.dumpOnStdin, 'boolean');
    t.type(row.returns, 'boolean');
    if (row.route !== undefined) t.type(row.route, 'function');
  };
  for (const action of DS_ACTIONS) check('datastore', action, (DATASTORE_CONTRACT as Record<string, ActionSpec<unknown>>)[action]);
  for (const action of TM_ACTIONS) check('tm', action, (TM_CONTRACT as Record<string, ActionSpec<unknown>>)[action]);
  check('generic', 'datastore', GENERIC_CONTRACT.datastore);
  check('generic', 'tm', GENERIC_CONTRACT.tm);
});

t.test('datastore rows take <dump> <id> and write the dump to stdin', async (t) => {
  for (const action of DS_ACTIONS) {
    const row = DATASTORE_CONTRACT[action];
    t.equal(usageOf(row.args), '<dump> <id>', `${action} usage`);
    t.same(row.args, [{ name: 'dump', type: 'dump' }, { name: 'id', type: 'id' }], `${action} arg types`);
    t.equal(row.dumpOnStdin, true, `${action} writes the dump on stdin`);
  }
  t.equal(usageOf(GENERIC_CONTRACT.datastore.args), '<dump> <id>', 'a driver-specific datastore action also gets <dump> <id>');
  t.equal(GENERIC_CONTRACT.datastore.dumpOnStdin, true);
});

t.test('datastore rows parse what the spec says they return', async (t) => {
  t.equal(DATASTORE_CONTRACT.cp.parse, parseImageSource, 'cp: image_source size');
  t.equal(DATASTORE_CONTRACT.mkfs.parse, parseMkfsSource, 'mkfs: image_source size, or the source alone (OpenNebula\'s current mkfs)');
  t.equal(DATASTORE_CONTRACT.stat.parse, parseSize, 'stat: size');
  t.equal(DATASTORE_CONTRACT.clone.parse, parseSource, 'clone: source');
  t.equal(DATASTORE_CONTRACT.monitor.parse, parseMonitor, 'monitor: monitor data');
  for (const action of ['rm', 'snap_delete', 'snap_flatten', 'snap_revert'] as const) {
    t.equal(DATASTORE_CONTRACT[action].parse, parseNothing, `${action} returns -`);
    t.equal(DATASTORE_CONTRACT[action].returns, false, `${action} returns nothing the caller needs`);
  }
  for (const action of ['cp', 'mkfs', 'stat', 'clone', 'monitor'] as const) {
    t.equal(DATASTORE_CONTRACT[action].returns, true, `${action} returns a result`);
  }
  t.equal(GENERIC_CONTRACT.datastore.parse, parseRaw);
  t.equal(GENERIC_CONTRACT.tm.parse, parseRaw);
});

t.test('tm argument lists are the spec\'s', async (t) => {
  // From the ARGUMENTS line of each action in the storage driver spec, each
  // word as <word>. Where the spec gives alternatives with `|` for one
  // argument (a disk or the VM folder) the row names it …/path; context's
  // `file1 file2 ... fileN` is the variadic <file...>.
  const expected: Record<string, string> = {
    // fe:SOURCE host:remote_system_ds/disk.i vm_id ds_id
    clone: '<fe:SOURCE> <host:remote_system_ds/disk.i> <vm_id> <ds_id>',
    // fe:SOURCE host:remote_system_ds/disk.i vm_id ds_id
    ln: '<fe:SOURCE> <host:remote_system_ds/disk.i> <vm_id> <ds_id>',
    // host:remote_system_ds/disk.i fe:SOURCE vm_id ds_id
    mvds: '<host:remote_system_ds/disk.i> <fe:SOURCE> <vm_id> <ds_id>',
    // host:remote_system_ds/disk.i fe:SOURCE snap_id vm_id ds_id
    cpds: '<host:remote_system_ds/disk.i> <fe:SOURCE> <snap_id> <vm_id> <ds_id>',
    // hostA:system_ds/disk.i|hostB:system_ds/disk.i vm_id ds_id  OR  hostA:system_ds/|hostB:system_ds/ vm_id ds_id
    mv: '<hostA:system_ds/path> <hostB:system_ds/path> <vm_id> <ds_id>',
    // source_host dst_host remote_system_dir vmid dsid template
    premigrate: '<source_host> <dst_host> <remote_system_dir> <vmid> <dsid> <template>',
    // see premigrate
    postmigrate: '<source_host> <dst_host> <remote_system_dir> <vmid> <dsid> <template>',
    // not in the spec; OpenNebula calls it like premigrate
    failmigrate: '<source_host> <dst_host> <remote_system_dir> <vmid> <dsid> <template>',
    // host:remote_system_ds/disk.i snapshot_id vm_id ds_id (named snap_id in the row)
    snap_create: '<host:remote_system_ds/disk.i> <snap_id> <vm_id> <ds_id>',
    snap_create_live: '<host:remote_system_ds/disk.i> <snap_id> <vm_id> <ds_id>',
    snap_delete: '<host:remote_system_ds/disk.i> <snap_id> <vm_id> <ds_id>',
    snap_revert: '<host:remote_system_ds/disk.i> <snap_id> <vm_id> <ds_id>',
    // file1 file2 ... fileN host:remote_system_ds/disk.i vm_id ds_id
    context: '<file...> <host:remote_system_ds/disk.i> <vm_id> <ds_id>',
    // host:remote_system_ds/disk.i|host:remote_system_ds/ vm_id ds_id
    delete: '<host:remote_system_ds/path> <vm_id> <ds_id>',
    // size format host:remote_system_ds/disk.i vm_id ds_id
    mkimage: '<size> <format> <host:remote_system_ds/disk.i> <vm_id> <ds_id>',
    // size host:remote_system_ds/disk.i vm_id ds_id
    mkswap: '<size> <host:remote_system_ds/disk.i> <vm_id> <ds_id>',
    // datastore_action_dump image_id
    monitor: '<dump> <id>',
    // not in the spec; OpenNebula's resize: disk, size, vm_id [, ds_id]
    resize: '<host:remote_system_ds/disk.i> <size> <vm_id> [ds_id]',
  };
  t.same(Object.keys(expected).sort(), [...TM_ACTIONS].sort(), 'every tm action is listed here');
  for (const action of TM_ACTIONS) {
    t.equal(usageOf(TM_CONTRACT[action].args), expected[action], `tm/${action}`);
  }
});

t.test('tm rows: argument types and stdin', async (t) => {
  for (const action of TM_ACTIONS) {
    const row = TM_CONTRACT[action];
    if (action === 'monitor') {
      t.equal(row.dumpOnStdin, true, 'tm/monitor writes the dump on stdin');
      t.equal(row.parse, parseMonitor, 'tm/monitor parses monitor data');
      t.equal(row.returns, true);
    } else {
      t.equal(row.dumpOnStdin, false, `tm/${action} gets no stdin dump`);
      t.equal(row.parse, parseNothing, `tm/${action} returns nothing`);
      t.equal(row.returns, false);
    }
  }
  const types = (action: (typeof TM_ACTIONS)[number]): string[] => TM_CONTRACT[action].args.map((a) => a.type);
  t.same(types('clone'), ['hostsource', 'hostpath', 'id', 'id'], 'the source may be relative (a Ceph pool/image, the dummy driver\'s dummy_path); the disk is a path on the host');
  t.same(types('mkimage'), ['uint', 'word', 'hostpath', 'id', 'id']);
  t.same(types('mkswap'), ['uint', 'hostpath', 'id', 'id']);
  t.same(types('premigrate'), ['host', 'host', 'path', 'id', 'id', 'base64']);
  t.same(types('monitor'), ['dump', 'id']);
  t.equal(TM_CONTRACT.cpds.args[2]?.type, 'id', 'cpds snap_id allows -1 (save the current state)');
  t.ok(TM_CONTRACT.context.args[0]?.variadic, 'context takes any number of files');
  t.ok(TM_CONTRACT.resize.args[3]?.optional, 'resize ds_id is optional');
});

t.test('monitor route', async (t) => {
  const route = DATASTORE_CONTRACT.monitor.route;
  if (route === undefined) {
    t.fail('datastore monitor has a route');
    return;
  }
  t.same(route(fields({ 'DATASTORE/TYPE': '1', 'DATASTORE/TM_MAD': 'ssh' })), { kind: 'tm', driverFrom: 'DATASTORE/TM_MAD' }, 'system datastore goes to tm');
  t.equal(route(fields({ 'DATASTORE/TYPE': '0' })), undefined, 'image datastore: no route');
  t.equal(route(fields({ 'DATASTORE/TYPE': '2' })), undefined, 'file datastore: no route');
  t.equal(route(fields({})), undefined, 'no TYPE: no route');
  t.equal(route(fields({ 'DATASTORE/TYPE': ' 1' })), undefined, 'only exactly 1');

  const system = buildDump({ DATASTORE: { ID: 0, TYPE: 1, TM_MAD: 'shared' } });
  t.same(route(system), { kind: 'tm', driverFrom: 'DATASTORE/TM_MAD' }, 'a built system datastore dump');
  t.equal(system.get('DATASTORE/TM_MAD'), 'shared', 'the driver named by driverFrom is readable');
  const example = readDump(readFileSync(join(root, 'fixtures', 'dumps', 'spec-example.xml'), 'utf8'));
  t.equal(route(example), undefined, 'the spec example (an image datastore) is not routed');

  for (const action of DS_ACTIONS) {
    if (action !== 'monitor') t.equal(DATASTORE_CONTRACT[action].route, undefined, `datastore/${action} has no route`);
  }
  for (const action of TM_ACTIONS) {
    t.equal((TM_CONTRACT[action] as ActionSpec<unknown>).route, undefined, `tm/${action} has no route`);
  }
});

t.test('baseAction', async (t) => {
  t.equal(baseAction('clone.ssh'), 'clone');
  t.equal(baseAction('clone'), 'clone');
  t.equal(baseAction('mv.ssh.extra'), 'mv');
  t.equal(baseAction('.hidden'), '.hidden', 'a leading dot is not a suffix');
  t.equal(baseAction(''), '');
});

t.test('specFor and isKnownAction', async (t) => {
  t.equal(specFor('datastore', 'cp'), DATASTORE_CONTRACT.cp);
  t.equal(specFor('tm', 'clone'), TM_CONTRACT.clone);
  t.equal(specFor('datastore', 'clone'), DATASTORE_CONTRACT.clone, 'same name, kind decides');
  t.equal(specFor('tm', 'clone.ssh'), TM_CONTRACT.clone, 'a suffixed script is its base action');
  t.equal(specFor('datastore', 'frobnicate'), GENERIC_CONTRACT.datastore, 'unknown datastore action: generic row');
  t.equal(specFor('datastore', 'export'), EXTRA_ACTIONS.datastore.export, 'an action OpenNebula knows: its extras row');
  t.equal(specFor('datastore', 'restore').protocol?.verb, 'RESTORE', 'an extra with a protocol verb');
  t.equal(specFor('datastore', 'export').parse, parseRaw, 'extras run as given: stdout raw');
  t.equal(specFor('tm', 'frobnicate'), GENERIC_CONTRACT.tm, 'unknown tm action: generic row');
  t.equal(specFor('tm', 'stat'), GENERIC_CONTRACT.tm, 'a datastore-only action is unknown to tm');
  t.equal(specFor('datastore', 'toString'), GENERIC_CONTRACT.datastore, 'prototype names are not rows');
  t.equal(specFor('tm', '__proto__'), GENERIC_CONTRACT.tm);
  t.equal(usageOf(GENERIC_CONTRACT.tm.args), '[arg...]', 'the generic tm row passes any arguments');
  t.equal(isKnownAction('datastore', 'monitor'), true);
  t.equal(isKnownAction('tm', 'ln.ssh'), true);
  t.equal(isKnownAction('datastore', 'ln'), false);
  t.equal(isKnownAction('tm', 'constructor'), false);
  t.equal(isKind('datastore'), true);
  t.equal(isKind('tm'), true);
  t.equal(isKind('ds'), false);
  t.equal(isKind(undefined), false);
});

t.test('the compiler rejects a table with a missing row', async (t) => {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  t.notOk(config.error, 'tsconfig.json reads');
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    rootDir: undefined,
    outDir: undefined,
    skipLibCheck: true,
  };

  // A table built like DATASTORE_CONTRACT without a row, given to the
  // compiler as a file next to this one.
  const virtual = join(here, '__missing_row__.ts');
  const sources: Record<string, string> = {
    [virtual]: [
      "import { DATASTORE_CONTRACT, type ActionSpec, type DsAction } from '../../src/contract/table.js';",
      'const { stat: _stat, ...rest } = DATASTORE_CONTRACT;',
      'export const incomplete: { [A in DsAction]: ActionSpec<unknown> } = rest;',
      'export const complete: { [A in DsAction]: ActionSpec<unknown> } = DATASTORE_CONTRACT;',
      '',
    ].join('\n'),
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    sources[name] !== undefined ? ts.createSourceFile(name, sources[name] as string, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => sources[name] !== undefined || fileExists(name);

  const program = ts.createProgram([virtual, fileURLToPath(import.meta.url)], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  const describe = (d: ts.Diagnostic): string => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    return `${d.file?.fileName ?? '?'}:${where ? where.line + 1 : '?'} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  };

  const inVirtual = diagnostics.filter((d) => d.file?.fileName === virtual);
  t.equal(inVirtual.length, 1, 'exactly one error in the incomplete table', { diagnostics: inVirtual.map(describe) });
  const [missing] = inVirtual;
  t.equal(missing?.code, 2741, 'TS2741: property missing');
  t.match(missing ? ts.flattenDiagnosticMessageText(missing.messageText, ' ') : '', /Property 'stat' is missing/);
  t.equal(missing?.file?.getLineAndCharacterOfPosition(missing.start ?? 0).line, 2, 'on the incomplete table, not the complete one');

  const inThisFile = diagnostics.filter((d) => d.file?.fileName === fileURLToPath(import.meta.url));
  t.same(inThisFile.map(describe), [], 'this file type-checks, so its @ts-expect-error is used');
});
