import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeBase64, encodeBase64, isBase64 } from '../../src/dump/base64.js';
import { checkRefusal, thrown } from '../helpers/fixtures.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'dumps', 'spec-example.xml');
const exampleText = readFileSync(EXAMPLE, 'utf8');

/** The message of decodeBase64's refusal of `text`: E_BAD_DUMP, the hint saying how to encode. */
function refused(t: Test, text: string, what?: string): string {
  return checkRefusal(t, thrown(() => decodeBase64(text, what)), { code: 'E_BAD_DUMP', hint: /base64/ }).message;
}

/** Breaks base64 into lines of `width` characters, as `base64` and OpenNebula do. */
const wrap = (text: string, width: number, eol = '\n'): string => (text.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(eol) + eol;

t.test('the spec example round-trips', async (t) => {
  const encoded = encodeBase64(exampleText);
  t.equal(encoded, readFileSync(EXAMPLE).toString('base64'), 'standard base64 of the file bytes');
  t.match(encoded, /^[A-Za-z0-9+/]+={0,2}$/, 'one line, standard alphabet');
  t.equal(decodeBase64(encoded), exampleText, 'decodes to the file, final newline included');
  t.equal(decodeBase64(wrap(encoded, 76)), exampleText, 'with line breaks every 76 characters');
  t.equal(decodeBase64(wrap(encoded, 64, '\r\n')), exampleText, 'with CRLF line breaks');
  t.equal(decodeBase64(`  ${wrap(encoded, 60, '\n\t ')}  `), exampleText, 'with blanks around and between');
  t.equal(encodeBase64(decodeBase64(encoded)), encoded, 'encode(decode(x)) is x');
});

t.test('UTF-8 text', async (t) => {
  for (const text of ['a', 'ab', 'abc', 'Ñandú €', '日本語', '🙂 emoji', '<A>x</A>\n']) {
    const encoded = encodeBase64(text);
    t.equal(encoded, Buffer.from(text, 'utf8').toString('base64'), `${text}: encoded as UTF-8`);
    t.equal(decodeBase64(encoded), text, `${text}: round trip`);
  }
  t.equal(decodeBase64(encodeBase64('a\uFFFDb')), 'a\uFFFDb', 'a real U+FFFD in the text is not mistaken for bad bytes');
});

t.test('isBase64', async (t) => {
  for (const yes of ['QQ==', 'QUI=', 'QUJD', 'QUJD\nREVG', 'QU\r\nJD', ' QUJD ', 'a+/b']) t.equal(isBase64(yes), true, JSON.stringify(yes));
  for (const no of ['', '   ', '\n', 'abc', 'QQ=', 'Q===', 'QQ==QQ==', 'ab=c', 'ab!c', 'QUJ-', 'QUJ_', '<DS_DRIVER_ACTION_DATA/>']) {
    t.equal(isBase64(no), false, JSON.stringify(no));
  }
});

t.test('refusals name the problem', async (t) => {
  t.match(refused(t, ''), /dump is not base64 \(it is empty\)/);
  t.match(refused(t, ' \n '), /it is empty/);
  t.match(refused(t, 'abc'), /length 3 is not a multiple of 4/);
  t.match(refused(t, 'hello world!'), /not a multiple of 4/, 'blanks are dropped before counting');
  t.match(refused(t, 'ab!c'), /character "!" at offset 2/);
  t.match(refused(t, 'QUJ-'), /character "-" at offset 3/, 'the URL-safe alphabet is not accepted');
  t.match(refused(t, 'ab=c'), /misplaced padding/);
  t.match(refused(t, 'QQ==QQ=='), /misplaced padding/);
  t.match(refused(t, '<DS_DRIVER_ACTION_DATA/>'), /not base64/);
  t.match(refused(t, 'abc', 'the template'), /^the template is not base64/, 'the message names what was read');
});

t.test('bytes that are not UTF-8 are refused', async (t) => {
  t.match(refused(t, Buffer.from([0xff, 0xfe, 0x3c, 0x41]).toString('base64')), /not UTF-8 text/);
  t.match(refused(t, Buffer.from([0x3c, 0x41, 0x3e, 0xc3]).toString('base64')), /not UTF-8 text/, 'a cut multi-byte sequence');
});
