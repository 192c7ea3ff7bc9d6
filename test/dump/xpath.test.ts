import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { xpathValues } from '../../src/dump/xpath.js';
import { parseXml } from '../../src/dump/xml.js';
import { buildDump } from '../../src/dump/dump.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'dumps', 'spec-example.xml');
const { root, body } = parseXml(readFileSync(EXAMPLE, 'utf8'));
const values = (...exprs: string[]): string[] => xpathValues(root, body, exprs);

t.test('absolute paths', async (t) => {
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/PATH'), ['/tmp/ttylinux.img']);
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/SIZE', '/DS_DRIVER_ACTION_DATA/DATASTORE/TM_MAD', '/DS_DRIVER_ACTION_DATA/DATASTORE/ID'), ['40', 'shared', '1'], 'several at once, in order');
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/PERMISSIONS/OWNER_U'), ['1'], 'nested');
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/CLONING_ID'), ['-1']);
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/SOURCE'), [''], 'an empty element');
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE'), [''], 'an element with children has no text');
  t.same(values(), [], 'no expressions, no values');
});

t.test('missing is the empty string', async (t) => {
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/NOPE'), ['']);
  t.same(values('/DS_DRIVER_ACTION_DATA/NOPE/PATH'), ['']);
  t.same(values('/OTHER_ROOT/IMAGE/PATH'), [''], 'wrong root');
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/PATH/DEEPER'), ['']);
  t.same(values('/DS_DRIVER_ACTION_DATA/TARGET_SNAPSHOT', '/DS_DRIVER_ACTION_DATA/IMAGE/ID'), ['', '0'], 'a missing value keeps its place');
  t.same(values('//NOPE', '%m%//NOPE'), ['', '']);
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/toString'), [''], 'prototype names are not elements');
});

t.test('CDATA values', async (t) => {
  t.same(values('/DS_DRIVER_ACTION_DATA/IMAGE/TEMPLATE/DEV_PREFIX'), ['hd']);
  t.same(values('/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/TM_MAD', '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/TYPE'), ['shared', 'IMAGE_DS']);
  const nasty = buildDump({ DATASTORE: { ID: 0, TEMPLATE: { BRIDGE_LIST: 'host1 host2', ODD: 'a]]>b<c&d' } } });
  t.same(xpathValues(nasty.root, nasty.body, ['/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/BRIDGE_LIST']), ['host1 host2']);
  const reread = parseXml(nasty.xml);
  t.same(xpathValues(reread.root, reread.body, ['/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/ODD']), ['a]]>b<c&d'], 'CDATA holding ]]> after a round trip');
});

t.test('//NAME matches anywhere', async (t) => {
  t.same(values('//NAME'), ['ttylinux'], 'the first in document order');
  t.same(values('//TM_MAD'), ['shared']);
  t.same(values('//PATH'), ['/tmp/ttylinux.img']);
  t.same(values('//TEMPLATE/DS_MAD'), ['fs'], 'with steps after it');
  t.same(values('//PERMISSIONS/GROUP_U'), ['0'], 'first PERMISSIONS is the image\'s');
  t.same(values('//DS_DRIVER_ACTION_DATA/DATASTORE/ID'), ['1'], 'the root itself');
});

t.test('%m% joins every match with a space', async (t) => {
  t.same(values('%m%//NAME'), ['ttylinux default']);
  t.same(values('%m%//ID'), ['0 1']);
  t.same(values('%m%//PERMISSIONS/GROUP_U'), ['0 1']);
  t.same(values('%m%/DS_DRIVER_ACTION_DATA/IMAGE/PATH'), ['/tmp/ttylinux.img'], 'one match');
  t.same(values('%m%//TEMPLATE/TM_MAD', '%m%//DS_MAD'), ['shared', 'fs fs'], 'CDATA and plain');

  const dump = buildDump({
    IMAGE: {
      ID: 1,
      SNAPSHOTS: { SNAPSHOT: [{ ID: 0, NAME: 'a' }, { ID: 1, NAME: 'b' }, { ID: 2, NAME: 'c' }] },
      TEMPLATE: { TAG: ['x', 'y', 'z'] },
    },
    DATASTORE: { ID: 0 },
  });
  const { root: r, body: b } = parseXml(dump.xml);
  t.same(
    xpathValues(r, b, [
      '%m%/DS_DRIVER_ACTION_DATA/IMAGE/SNAPSHOTS/SNAPSHOT/ID',
      '/DS_DRIVER_ACTION_DATA/IMAGE/SNAPSHOTS/SNAPSHOT/ID',
      '%m%//SNAPSHOT/NAME',
      '%m%/DS_DRIVER_ACTION_DATA/IMAGE/TEMPLATE/TAG',
      '/DS_DRIVER_ACTION_DATA/IMAGE/TEMPLATE/TAG',
      '%m%//ID',
    ]),
    ['0 1 2', '0', 'a b c', 'x y z', 'x', '1 0 1 2 0'],
    'repeated elements: all with %m%, the first without',
  );
});
