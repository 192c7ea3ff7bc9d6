/** `ferry dump encode|decode <file>` in-process. */
import t from 'tap';
import { tmpDir } from '../helpers/fixtures.js';
import { base64Of, jsonOf, runCli, specExamplePath, specExampleXml, writeFileIn } from './helpers.js';

t.test('encode then decode gives the file back', async (t) => {
  const xml = specExampleXml();
  const encoded = await runCli(['dump', 'encode', specExamplePath]);
  t.equal(encoded.status, 0);
  t.equal(encoded.stderr, '');
  t.match(encoded.stdout, /^[A-Za-z0-9+/]+={0,2}\n$/, 'one line of base64');
  t.equal(Buffer.from(encoded.stdout.trim(), 'base64').toString('utf8'), xml.trim(), 'the base64 of the XML');
  const b64File = writeFileIn(tmpDir(t), 'image.b64', encoded.stdout);
  const decoded = await runCli(['dump', 'decode', b64File]);
  t.equal(decoded.status, 0);
  t.equal(decoded.stderr, '');
  t.equal(decoded.stdout, xml, 'decode(encode(file)) equals the file');
});

t.test('decode keeps CDATA and values byte for byte', async (t) => {
  const xml = '<DS_DRIVER_ACTION_DATA><IMAGE><ID>007</ID><TEMPLATE><X><![CDATA[a <b> & c]]></X></TEMPLATE></IMAGE><DATASTORE><ID>1</ID></DATASTORE></DS_DRIVER_ACTION_DATA>\n';
  const file = writeFileIn(tmpDir(t), 'image.b64', base64Of(xml));
  const { status, stdout } = await runCli(['dump', 'decode', file]);
  t.equal(status, 0);
  t.equal(stdout, xml);
});

t.test('stdin (-) for encode and decode', async (t) => {
  const xml = specExampleXml();
  const encoded = await runCli(['dump', 'encode', '-'], { stdin: xml });
  t.equal(encoded.status, 0);
  t.equal(encoded.stdout, `${base64Of(xml.trim())}\n`);
  const decoded = await runCli(['dump', 'decode', '-'], { stdin: encoded.stdout });
  t.equal(decoded.status, 0);
  t.equal(decoded.stdout, xml);
  // base64 wrapped over lines, as `base64` prints it, decodes too.
  const wrapped = base64Of(xml).replace(/(.{76})/g, '$1\n');
  const fromWrapped = await runCli(['dump', 'decode', '-'], { stdin: wrapped });
  t.equal(fromWrapped.status, 0);
  t.equal(fromWrapped.stdout, xml);
});

t.test('--json gives root, base64 and xml', async (t) => {
  const xml = specExampleXml();
  const { status, stdout } = await runCli(['--json', 'dump', 'encode', specExamplePath]);
  t.equal(status, 0);
  t.match(jsonOf(stdout), { ok: true, root: 'DS_DRIVER_ACTION_DATA', base64: base64Of(xml.trim()), xml: xml.trim() });
});

t.test('decode of text that is not base64: exit 2', async (t) => {
  const dir = tmpDir(t);
  for (const [name, text] of Object.entries({ 'bad characters': 'this is not base64!', 'bad length': 'abcde', empty: '' })) {
    const file = writeFileIn(dir, `${name.replace(/\W/g, '_')}.b64`, text);
    const { status, stdout, stderr } = await runCli(['dump', 'decode', file]);
    t.equal(status, 2, `${name}: exit 2`);
    t.equal(stdout, '', `${name}: nothing on stdout`);
    t.match(stderr, /not base64|empty/, `${name}: says why`);
  }
  const stdin = await runCli(['dump', 'decode', '-'], { stdin: '%%%%' });
  t.equal(stdin.status, 2);
  const notXml = await runCli(['dump', 'decode', '-'], { stdin: base64Of('plain text, not XML') });
  t.equal(notXml.status, 2, 'base64 of something that is not XML');
  t.match(notXml.stderr, /XML|root/);
});

t.test('encode of malformed XML: exit 2', async (t) => {
  const dir = tmpDir(t);
  const cases = {
    'unclosed element': '<DS_DRIVER_ACTION_DATA><IMAGE></DS_DRIVER_ACTION_DATA>',
    'two roots': '<A/><B/>',
    'not XML': 'hello',
    doctype: '<!DOCTYPE x [<!ENTITY e "boom">]><A>&e;</A>',
  };
  for (const [name, text] of Object.entries(cases)) {
    const file = writeFileIn(dir, `${name.replace(/\W/g, '_')}.xml`, text);
    const { status, stdout, stderr } = await runCli(['dump', 'encode', file]);
    t.equal(status, 2, `${name}: exit 2`);
    t.equal(stdout, '', `${name}: nothing on stdout`);
    t.match(stderr, /^ferry: /, `${name}: an error message`);
  }
  const json = await runCli(['--json', 'dump', 'encode', writeFileIn(dir, 'bad.xml', '<A><B></A>')]);
  t.equal(json.status, 2);
  t.match(jsonOf(json.stdout), { ok: false, error: { code: 'E_BAD_DUMP', exitStatus: 2 } });
});

t.test('a missing file and an unknown direction: exit 2', async (t) => {
  const missing = await runCli(['dump', 'encode', '/nonexistent/image.xml']);
  t.equal(missing.status, 2);
  t.match(missing.stderr, '/nonexistent/image.xml');
  const direction = await runCli(['dump', 'sideways', specExamplePath]);
  t.equal(direction.status, 2);
  t.match(direction.stderr, /encode or decode/);
});
