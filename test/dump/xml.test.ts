import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CDATA, isCdata, isElement, parseXml, textOf, type XmlElement } from '../../src/dump/xml.js';
import { buildXml, cdata } from '../../src/dump/serialize.js';
import { checkRefusal, thrown } from '../helpers/fixtures.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'dumps', 'spec-example.xml');
const exampleText = readFileSync(EXAMPLE, 'utf8');

/** parseXml must refuse with E_BAD_DUMP; returns the message. */
/** The message of parseXml's refusal of `text`: E_BAD_DUMP, with a hint. */
function refused(t: Test, text: string, what?: string): string {
  return checkRefusal(t, thrown(() => parseXml(text, what)), { code: 'E_BAD_DUMP' }).message;
}

t.test('the spec example round-trips byte for byte', async (t) => {
  t.ok(exampleText.endsWith('</DS_DRIVER_ACTION_DATA>\n'), 'the fixture ends with the root and one newline');
  const { root, body } = parseXml(exampleText);
  t.equal(root, 'DS_DRIVER_ACTION_DATA');
  const built = buildXml(root, body);
  t.ok(built.endsWith('</DS_DRIVER_ACTION_DATA>\n'), 'buildXml ends with one newline, like the file');
  t.equal(built, exampleText, 'buildXml(parseXml(file)) is the file');
  t.equal(Buffer.compare(Buffer.from(built, 'utf8'), readFileSync(EXAMPLE)), 0, 'same bytes');

  const again = parseXml(built);
  t.same(again, { root, body }, 'parsing the output gives the same tree');
});

t.test('the parsed tree of the spec example', async (t) => {
  const { body } = parseXml(exampleText);
  const image = body.IMAGE as XmlElement;
  const datastore = body.DATASTORE as XmlElement;
  t.ok(isElement(image) && isElement(datastore));
  t.equal(image.ID, '0', 'values stay strings');
  t.equal(image.CLONING_ID, '-1');
  t.equal(image.PATH, '/tmp/ttylinux.img');
  t.equal(image.SOURCE, '', 'an empty element is the empty string');
  t.equal(image.VMS, '');
  t.same(image.TEMPLATE, { DEV_PREFIX: { [CDATA]: 'hd' }, PUBLIC: { [CDATA]: 'YES' } }, 'CDATA is kept as #cdata');
  t.same((image.PERMISSIONS as XmlElement).OWNER_U, '1');
  t.equal(datastore.TM_MAD, 'shared');
  t.same((datastore.TEMPLATE as XmlElement).TM_MAD, { [CDATA]: 'shared' });
  t.same(Object.keys(body), ['IMAGE', 'DATASTORE'], 'order of sections kept');
  t.same(Object.keys(image).slice(0, 7), ['ID', 'UID', 'GID', 'UNAME', 'GNAME', 'NAME', 'PERMISSIONS'], 'order of fields kept');
});

t.test('values survive as text: leading zeros, -1, big numbers', async (t) => {
  const { body } = parseXml('<R><A>007</A><B>-1</B><C>123456789012345678901234567890</C><D>1e3</D><E>true</E></R>');
  t.same(body, { A: '007', B: '-1', C: '123456789012345678901234567890', D: '1e3', E: 'true' });
});

t.test('buildXml: layout and escaping', async (t) => {
  const xml = buildXml('R', { A: '1', B: { C: 'x' }, D: [{ [CDATA]: 'p' }, { [CDATA]: 'q' }], E: '' });
  t.equal(
    xml,
    ['<R>', '    <A>1</A>', '    <B>', '        <C>x</C>', '    </B>', '    <D><![CDATA[p]]></D>', '    <D><![CDATA[q]]></D>', '    <E/>', '</R>', ''].join('\n'),
    'four-space indent, CDATA inline, repeated elements, empty element self-closed',
  );

  const special = buildXml('R', { A: 'a<b&c>d"e\'f' });
  t.notMatch(special, /a<b/, '< is escaped');
  t.match(special, /&lt;/);
  t.match(special, /&amp;/);
  t.equal(parseXml(special).body.A, 'a<b&c>d"e\'f', 'text with < & > " \' reads back');
});

t.test('cdata(): any text fits, ]]> included', async (t) => {
  t.same(cdata('plain'), { [CDATA]: 'plain' });
  t.ok(isCdata(cdata('x]]>y')));
  for (const text of ['plain', 'a]]>b', ']]>', ']]>]]>', 'x]]]>y', 'a<b&c', '<![CDATA[inner]]>', '']) {
    const xml = buildXml('R', { A: cdata(text) });
    const parsed = parseXml(xml);
    const value = parsed.body.A;
    t.equal(value === undefined ? undefined : textOf(value), text, `${JSON.stringify(text)} reads back`);
    t.equal((xml.match(/<A>/g) ?? []).length, 1, `${JSON.stringify(text)} is one element`);
  }
});

t.test('isCdata and isElement', async (t) => {
  t.equal(isCdata({ [CDATA]: 'x' }), true);
  t.equal(isCdata({ [CDATA]: 'x', other: 'y' }), false);
  t.equal(isCdata('x'), false);
  t.equal(isCdata(null), false);
  t.equal(isCdata([{ [CDATA]: 'x' }]), false);
  t.equal(isElement({ A: 'x' }), true);
  t.equal(isElement({}), true);
  t.equal(isElement({ [CDATA]: 'x' }), false);
  t.equal(isElement('x'), false);
  t.equal(isElement(['x']), false);
  t.equal(isElement(null), false);
});

t.test('accepted extras: declaration, attributes, comments', async (t) => {
  t.same(parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<R><A>1</A></R>'), { root: 'R', body: { A: '1' } });
  t.same(parseXml('<R id="3"><A kind="x">1</A></R>'), { root: 'R', body: { A: '1' } }, 'attributes are dropped');
  t.same(parseXml('<R/>'), { root: 'R', body: {} }, 'an empty root');
  t.same(parseXml('<R>  <A>1</A>  </R>'), { root: 'R', body: { A: '1' } });
  t.same(parseXml('<R><A>a &amp; b &lt; c</A></R>').body, { A: 'a & b < c' }, 'the predefined entities are decoded');
  t.same(parseXml('<R><A>&#65;&#x42;</A></R>').body, { A: 'AB' }, 'character references are decoded');
});

t.test('entities: XML\'s own five and character references, nothing more', async (t) => {
  t.same(parseXml('<R><A>&quot;q&quot; &apos;a&apos; &gt;</A></R>').body, { A: '"q" \'a\' >' });
  t.same(parseXml('<R><A>line&#10;two&#x9;tab &#x1F600;</A></R>').body, { A: 'line\ntwo\ttab \u{1F600}' }, 'decimal, hex, beyond the BMP');
  t.same(parseXml('<R><A>&amp;lt;</A></R>').body, { A: '&lt;' }, 'decoded once: &amp;lt; is the text &lt;');
  t.same(parseXml('<R><A>a&#0;b &#xD800; &#x110000;</A></R>').body, { A: 'a&#0;b &#xD800; &#x110000;' }, 'code points XML forbids stay as written, never a NUL');
  t.same(parseXml('<R><A>a&nbsp;b</A></R>').body, { A: 'a&nbsp;b' }, 'HTML entities are not XML: kept as written');
  t.same(parseXml('<R><A><![CDATA[&amp; stays]]></A></R>').body, { A: { '#cdata': '&amp; stays' } }, 'CDATA is not decoded');
  // The same parser serves every call: a reference in one document leaves nothing behind for the next.
  t.same(parseXml('<R><A>&#65;</A></R>').body, { A: 'A' });
  t.same(parseXml('<R><A>plain</A></R>').body, { A: 'plain' });
});

t.test('refusals', async (t) => {
  t.test('DOCTYPE and entity declarations (billion laughs, XXE)', async (t) => {
    const laughs = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">',
      ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">',
      ']>',
      '<DS_DRIVER_ACTION_DATA><IMAGE><NAME>&lol3;</NAME></IMAGE></DS_DRIVER_ACTION_DATA>',
    ].join('\n');
    t.match(refused(t, laughs), /DOCTYPE/);
    t.match(refused(t, '<!DOCTYPE r SYSTEM "file:///etc/passwd"><r>&xxe;</r>'), /DOCTYPE/, 'external DTD');
    t.match(refused(t, '<!doctype r><r/>'), /DOCTYPE/, 'lowercase doctype');
    t.match(refused(t, '<R><A>1</A></R>\n<!DOCTYPE R>'), /DOCTYPE/, 'anywhere in the text');
    t.match(refused(t, '<!DOCTYPE r>', 'dump'), /^dump has a DOCTYPE/, 'the message names what was read');
  });

  t.test('not well-formed', async (t) => {
    t.match(refused(t, '<R><A>1</R>'), /not well-formed XML: .*line 1/, 'mismatched tags, with a position');
    t.match(refused(t, '<R><A>1</A>'), /not well-formed XML/, 'unclosed root');
    t.match(refused(t, 'hello'), /not well-formed XML/, 'text');
    t.match(refused(t, '{"json":true}'), /not well-formed XML/, 'JSON');
    t.match(refused(t, '<R><A>1</R>', 'my dump'), /^my dump is not well-formed XML/, 'the message names what was read');
  });

  t.test('empty', async (t) => {
    t.match(refused(t, ''), /XML/);
    t.match(refused(t, '   \n'), /XML/);
  });

  t.test('more than one root', async (t) => {
    t.match(refused(t, '<R/><S/>'), /exactly one root element, found 2/);
    t.match(refused(t, '<R><A>1</A></R><S><B>2</B></S>'), /root/);
    t.match(refused(t, '<R>1</R><R>2</R>'), /root/i);
    t.match(refused(t, '<R/><R/>'), /root/i, 'two empty roots of the same name');
    t.match(refused(t, '<R><A>1</A></R>\n<R/>'), /root/i, 'a second, empty root of the same name');
    t.match(refused(t, '<R/>\n<R><A>1</A></R>'), /root/i, 'an empty root then a full one');
  });
});
