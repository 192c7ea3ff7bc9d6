import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DUMP_ROOT,
  buildDump,
  dumpFromBase64,
  dumpFromXml,
  readDump,
  type ActionDump,
  type DumpInput,
} from '../../src/dump/dump.js';
import { decodeBase64, encodeBase64 } from '../../src/dump/base64.js';
import { checkRefusal, thrown } from '../helpers/fixtures.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'dumps', 'spec-example.xml');
const exampleText = readFileSync(EXAMPLE, 'utf8');
const exampleBase64 = encodeBase64(exampleText);
const wrap76 = (text: string, eol = '\n'): string => (text.match(/.{1,76}/g) ?? []).join(eol) + eol;

/** The message of the refusal `read` throws: E_BAD_DUMP, with a hint. */
function refused(t: Test, read: () => unknown): string {
  return checkRefusal(t, thrown(read), { code: 'E_BAD_DUMP' }).message;
}

const PERMISSIONS = (group: 0 | 1, other: 0 | 1) => ({
  OWNER_U: 1, OWNER_M: 1, OWNER_A: 0,
  GROUP_U: group, GROUP_M: 0, GROUP_A: 0,
  OTHER_U: other, OTHER_M: 0, OTHER_A: 0,
});

/** The spec's decoded example, as typed objects. */
const SPEC_EXAMPLE: DumpInput = {
  IMAGE: {
    ID: 0, UID: 0, GID: 0, UNAME: 'oneadmin', GNAME: 'oneadmin', NAME: 'ttylinux',
    PERMISSIONS: PERMISSIONS(0, 0),
    TYPE: 0, DISK_TYPE: 0, PERSISTENT: 0, REGTIME: 1385145541,
    SOURCE: '', PATH: '/tmp/ttylinux.img', FSTYPE: '', SIZE: 40, STATE: 4,
    RUNNING_VMS: 0, CLONING_OPS: 0, CLONING_ID: -1, DATASTORE_ID: 1, DATASTORE: 'default',
    VMS: '', CLONES: '',
    TEMPLATE: { DEV_PREFIX: 'hd', PUBLIC: 'YES' },
  },
  DATASTORE: {
    ID: 1, UID: 0, GID: 0, UNAME: 'oneadmin', GNAME: 'oneadmin', NAME: 'default',
    PERMISSIONS: PERMISSIONS(1, 1),
    DS_MAD: 'fs', TM_MAD: 'shared', TYPE: 0, DISK_TYPE: 0, CLUSTER_ID: -1, CLUSTER: '',
    TOTAL_MB: 86845, FREE_MB: 20777, USED_MB: 1000, IMAGES: '',
    TEMPLATE: { CLONE_TARGET: 'SYSTEM', DISK_TYPE: 'FILE', DS_MAD: 'fs', LN_TARGET: 'NONE', TM_MAD: 'shared', TYPE: 'IMAGE_DS' },
  },
};

/** Reads every field the tests look at, so a dump and its re-read can be compared. */
const sample = (dump: ActionDump): Array<string | undefined> =>
  ['IMAGE/ID', 'IMAGE/PATH', 'IMAGE/SOURCE', 'IMAGE/TEMPLATE/DEV_PREFIX', 'DATASTORE/TM_MAD', 'DATASTORE/TEMPLATE/TYPE', 'DATASTORE/TOTAL_MB', 'IMAGE/NOPE'].map((p) => dump.get(p));

t.test('readDump auto-detects XML and base64', async (t) => {
  const fromXml = readDump(exampleText);
  t.equal(fromXml.root, DUMP_ROOT);
  t.equal(fromXml.get('IMAGE/PATH'), '/tmp/ttylinux.img');
  t.equal(decodeBase64(fromXml.base64).trim(), exampleText.trim(), 'its base64 decodes to the XML');

  const fromBase64 = readDump(exampleBase64);
  t.equal(fromBase64.xml, exampleText, 'decoded XML is the file exactly');
  t.equal(fromBase64.base64, exampleBase64, 'base64 kept as given');
  t.same(sample(fromBase64), sample(fromXml), 'same fields either way');

  const wrapped = readDump(wrap76(exampleBase64));
  t.equal(wrapped.xml, exampleText, 'base64 with line breaks every 76 characters');
  t.equal(wrapped.base64, exampleBase64, 'its base64 is compacted');
  t.equal(readDump(wrap76(exampleBase64, '\r\n')).xml, exampleText, 'CRLF line breaks');
  t.equal(readDump(`\n\n  ${exampleBase64}\n`).xml, exampleText, 'blank lines around');

  t.equal(readDump(`\n  ${exampleText}  \n`).get('IMAGE/NAME'), 'ttylinux', 'XML with blanks around');
  t.equal(readDump(`\uFEFF${exampleText}`).get('IMAGE/NAME'), 'ttylinux', 'XML with a byte order mark');
  t.equal(readDump(`<?xml version="1.0"?>\n${exampleText}`).get('IMAGE/NAME'), 'ttylinux', 'XML with a declaration');
  t.equal(readDump(encodeBase64(`<?xml version="1.0"?>\n${exampleText}`)).get('IMAGE/NAME'), 'ttylinux', 'base64 of XML with a declaration');
});

t.test('dumpFromXml and dumpFromBase64', async (t) => {
  const x = dumpFromXml(exampleText);
  t.equal(x.xml, exampleText);
  t.equal(x.base64, exampleBase64, 'base64 computed from the XML');
  const b = dumpFromBase64(wrap76(exampleBase64));
  t.equal(b.xml, exampleText);
  t.equal(b.base64, exampleBase64);
  t.same(b.body, x.body);
  t.match(refused(t, () => dumpFromXml(exampleBase64)), /not well-formed XML/, 'dumpFromXml does not guess');
  t.match(refused(t, () => dumpFromBase64(exampleText)), /not base64/, 'dumpFromBase64 does not guess');
});

t.test('expected root', async (t) => {
  t.match(refused(t, () => readDump('<IMAGE><ID>1</ID></IMAGE>')), /dump root element is <IMAGE>, expected <DS_DRIVER_ACTION_DATA>/);
  t.match(refused(t, () => readDump(encodeBase64('<VM><ID>1</ID></VM>'))), /root element is <VM>, expected <DS_DRIVER_ACTION_DATA>/, 'in base64 too');
  const vm = readDump('<VM><ID>7</ID><TEMPLATE><DISK><SIZE>10</SIZE></DISK></TEMPLATE></VM>', null);
  t.equal(vm.root, 'VM', 'any root when none is expected');
  t.equal(vm.get('/VM/TEMPLATE/DISK/SIZE'), '10');
  t.equal(vm.get('ID'), '7');
  t.equal(readDump(encodeBase64('<VM><ID>7</ID></VM>'), 'VM').get('ID'), '7', 'another expected root');
  t.match(refused(t, () => readDump(exampleText, 'VM')), /root element is <DS_DRIVER_ACTION_DATA>, expected <VM>/);
});

t.test('malformed dumps are refused with E_BAD_DUMP naming the problem', async (t) => {
  t.match(refused(t, () => readDump('')), /dump is empty/);
  t.match(refused(t, () => readDump('  \n\t\n')), /dump is empty/);
  t.match(refused(t, () => readDump('\uFEFF')), /dump is empty/);
  t.match(refused(t, () => readDump('this is not a dump')), /dump is not base64/, 'not base64');
  t.match(refused(t, () => readDump('QUJD!')), /dump is not base64/);
  t.match(refused(t, () => readDump('ab=c')), /not base64 \(misplaced padding\)/);
  t.match(refused(t, () => readDump(encodeBase64('just some words'))), /dump is not well-formed XML/, 'base64 of text');
  t.match(refused(t, () => readDump(encodeBase64('{"IMAGE":{}}'))), /dump is not well-formed XML/, 'base64 of JSON');
  t.match(refused(t, () => readDump(Buffer.from([0xff, 0xfe, 0x00, 0x3c]).toString('base64'))), /not UTF-8/, 'base64 of binary');
  t.match(refused(t, () => readDump('<DS_DRIVER_ACTION_DATA><IMAGE></DS_DRIVER_ACTION_DATA>')), /not well-formed XML: .*IMAGE/);
  t.match(refused(t, () => readDump('<DS_DRIVER_ACTION_DATA/><OTHER/>')), /exactly one root element, found 2/, 'two roots');
  t.match(refused(t, () => readDump(`${exampleText}${exampleText}`)), /root/i, 'two roots: the example twice');
  t.match(refused(t, () => readDump('<DS_DRIVER_ACTION_DATA><IMAGE/></DS_DRIVER_ACTION_DATA><DS_DRIVER_ACTION_DATA/>')), /root/i, 'two roots, the second empty');
  t.match(refused(t, () => readDump(encodeBase64('<DS_DRIVER_ACTION_DATA/>\n<DS_DRIVER_ACTION_DATA/>'))), /root/i, 'two empty roots in base64');

  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>' +
    '<DS_DRIVER_ACTION_DATA><IMAGE><NAME>&lol2;</NAME></IMAGE><DATASTORE><ID>0</ID></DATASTORE></DS_DRIVER_ACTION_DATA>';
  t.match(refused(t, () => readDump(laughs)), /dump has a DOCTYPE/, 'billion laughs as XML');
  t.match(refused(t, () => readDump(encodeBase64(laughs))), /dump has a DOCTYPE/, 'billion laughs as base64');
  t.match(
    refused(t, () => readDump('<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><DS_DRIVER_ACTION_DATA><IMAGE><PATH>&xxe;</PATH></IMAGE></DS_DRIVER_ACTION_DATA>')),
    /DOCTYPE/,
    'external entity',
  );
});

t.test('get()', async (t) => {
  const dump = readDump(exampleText);
  t.equal(dump.get('IMAGE/PATH'), '/tmp/ttylinux.img', 'relative to the root');
  t.equal(dump.get('/IMAGE/PATH'), '/tmp/ttylinux.img', 'leading slash');
  t.equal(dump.get('DS_DRIVER_ACTION_DATA/IMAGE/PATH'), '/tmp/ttylinux.img', 'with the root');
  t.equal(dump.get('/DS_DRIVER_ACTION_DATA/IMAGE/PATH'), '/tmp/ttylinux.img', 'absolute, with the root');
  t.equal(dump.get('DATASTORE/ID'), '1');
  t.equal(dump.get('IMAGE/ID'), '0');
  t.equal(dump.get('IMAGE/CLONING_ID'), '-1');
  t.equal(dump.get('DATASTORE/TEMPLATE/TM_MAD'), 'shared', 'CDATA value');
  t.equal(dump.get('IMAGE/TEMPLATE/DEV_PREFIX'), 'hd');
  t.equal(dump.get('IMAGE/PERMISSIONS/OWNER_U'), '1', 'nested');
  t.equal(dump.get('IMAGE/SOURCE'), '', 'an empty element is ""');
  t.equal(dump.get('IMAGE/TEMPLATE'), '', 'an element with children is ""');
  t.equal(dump.get('IMAGE/NOPE'), undefined, 'missing leaf');
  t.equal(dump.get('NOPE/ID'), undefined, 'missing section');
  t.equal(dump.get('IMAGE/PATH/DEEPER'), undefined, 'below a text value');
  t.equal(dump.get('TARGET_SNAPSHOT'), undefined);
  t.equal(dump.get('OTHER_ROOT/IMAGE/PATH'), undefined, 'another root prefix is not stripped');
  t.equal(dump.get('IMAGE/toString'), undefined, 'prototype names are not fields');
  t.equal(dump.get('IMAGE/__proto__'), undefined);

  const repeated = readDump('<DS_DRIVER_ACTION_DATA><IMAGE><SNAPSHOTS><SNAPSHOT><ID>4</ID></SNAPSHOT><SNAPSHOT><ID>5</ID></SNAPSHOT></SNAPSHOTS></IMAGE></DS_DRIVER_ACTION_DATA>');
  t.equal(repeated.get('IMAGE/SNAPSHOTS/SNAPSHOT/ID'), '4', 'the first of repeated elements');
});

t.test('buildDump of the spec example is the spec example', async (t) => {
  const built = buildDump(SPEC_EXAMPLE);
  t.equal(built.root, DUMP_ROOT);
  t.equal(built.xml, exampleText, 'byte for byte');
  t.equal(built.base64, exampleBase64);
  t.same(readDump(built.base64).body, readDump(exampleText).body, 'same tree as the parsed file');
});

t.test('buildDump from typed objects', async (t) => {
  const dump = buildDump({
    IMAGE: { ID: 7, NAME: 'img', SIZE: 1024n, PERSISTENT: 1, FORMAT: 'qcow2', TEMPLATE: { DEV_PREFIX: 'vd', SIZE: 10, DISK: { BUS: 'virtio' }, TAG: ['a', 'b'] } },
    DATASTORE: { ID: 100, NAME: 'ds', DS_MAD: 'fs', TM_MAD: 'ssh', TYPE: 0, BASE_PATH: '/var/lib/one/datastores/100', TEMPLATE: { TYPE: 'IMAGE_DS' }, EXTRA: 'passes through' },
    TARGET_SNAPSHOT: 3,
    SKIPPED: undefined,
  });
  t.match(dump.xml, /^<DS_DRIVER_ACTION_DATA>\n {4}<IMAGE>\n {8}<ID>7<\/ID>\n/, 'root, sections, four-space indent');
  t.ok(dump.xml.endsWith('</DS_DRIVER_ACTION_DATA>\n'));
  t.match(dump.xml, /<DEV_PREFIX><!\[CDATA\[vd\]\]><\/DEV_PREFIX>/, 'TEMPLATE values are CDATA');
  t.match(dump.xml, /<SIZE><!\[CDATA\[10\]\]><\/SIZE>/, 'TEMPLATE numbers too');
  t.match(dump.xml, /<BUS><!\[CDATA\[virtio\]\]><\/BUS>/, 'vector attributes under TEMPLATE too');
  t.match(dump.xml, /<TAG><!\[CDATA\[a\]\]><\/TAG>\n\s+<TAG><!\[CDATA\[b\]\]><\/TAG>/, 'repeated attributes');
  t.match(dump.xml, /<TYPE><!\[CDATA\[IMAGE_DS\]\]><\/TYPE>/);
  t.match(dump.xml, /<NAME>img<\/NAME>/, 'fields outside TEMPLATE are plain text');
  t.match(dump.xml, /<SIZE>1024<\/SIZE>/, 'bigint');
  t.match(dump.xml, /<TARGET_SNAPSHOT>3<\/TARGET_SNAPSHOT>/);
  t.notMatch(dump.xml, /SKIPPED/, 'undefined fields are left out');

  for (const read of [dump, readDump(dump.xml), readDump(dump.base64), readDump(wrap76(dump.base64))]) {
    t.equal(read.get('IMAGE/ID'), '7');
    t.equal(read.get('IMAGE/SIZE'), '1024');
    t.equal(read.get('IMAGE/TEMPLATE/DEV_PREFIX'), 'vd');
    t.equal(read.get('IMAGE/TEMPLATE/SIZE'), '10');
    t.equal(read.get('IMAGE/TEMPLATE/DISK/BUS'), 'virtio');
    t.equal(read.get('IMAGE/TEMPLATE/TAG'), 'a', 'first of repeated');
    t.equal(read.get('DATASTORE/TM_MAD'), 'ssh');
    t.equal(read.get('DATASTORE/EXTRA'), 'passes through');
    t.equal(read.get('DATASTORE/TEMPLATE/TYPE'), 'IMAGE_DS');
    t.equal(read.get('TARGET_SNAPSHOT'), '3');
    t.equal(read.get('SKIPPED'), undefined);
  }
  t.equal(decodeBase64(dump.base64), dump.xml, 'base64 is the XML encoded');
});

t.test('values with ]]>, < and & survive', async (t) => {
  const nasty = ['a]]>b', ']]>', ']]>]]>', 'x]]]>y', '<b>&amp;</b>', 'a & b < c > d', '<![CDATA[x]]>', '"quoted" \'single\''];
  const template: Record<string, string> = {};
  const plain: Record<string, string> = {};
  nasty.forEach((value, i) => {
    template[`T${i}`] = value;
    plain[`P${i}`] = value;
  });
  const dump = buildDump({ DATASTORE: { ID: 0, ...plain, TEMPLATE: template } });
  for (const [label, read] of [
    ['built', dump],
    ['re-read XML', readDump(dump.xml)],
    ['re-read base64', readDump(dump.base64)],
  ] as const) {
    nasty.forEach((value, i) => {
      t.equal(read.get(`DATASTORE/TEMPLATE/T${i}`), value, `${label}: CDATA ${JSON.stringify(value)}`);
      t.equal(read.get(`DATASTORE/P${i}`), value, `${label}: text ${JSON.stringify(value)}`);
    });
  }
});

t.test('buildDump refuses what cannot be XML', async (t) => {
  t.match(
    refused(t, () => buildDump({ DATASTORE: { ID: 0, 'BAD NAME': 1 } })),
    /dump field name "DATASTORE\/BAD NAME" is not a valid XML element name/,
  );
  t.match(refused(t, () => buildDump({ DATASTORE: { ID: 0, TEMPLATE: { '1ST': 'x' } } })), /"DATASTORE\/TEMPLATE\/1ST"/);
  t.match(refused(t, () => buildDump({ DATASTORE: { ID: 0, X: null } })), /dump field DATASTORE\/X has a value of type null/);
  t.match(refused(t, () => buildDump({ DATASTORE: { ID: 0, F: () => 1 } })), /dump field DATASTORE\/F has a value of type function/);
});
