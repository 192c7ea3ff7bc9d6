/**
 * ferry-xpath (src/compat/ferry-xpath.c) and the drop-in (scripts/opennebula/xpath.rb)
 * against OpenNebula's own xpath.rb under Debian's Ruby: the same stdout bytes and
 * exit status for realistic dumps, hostile values, every expression form the
 * drivers use, a seeded random set, and the cases it must hand to Ruby.
 */
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { packageRoot } from '../../src/config/paths.js';
import { tmpDir } from '../helpers/fixtures.js';
import { corpusRoot, rubyAvailable } from '../helpers/corpus.js';
import { prng as random } from '../helpers/intervals.js';

type Tap = Test;
interface Ran { stdout: Buffer; stderr: string; status: number | null }
interface Case { name: string; args: string[]; input?: string }

function run(file: string, args: string[], input: string | undefined, env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const { FERRY_XPATH_RUBY: _r, FERRY_XPATH: _x, ONE_LOCATION: _o, RUBYLIB: _l, ...base } = process.env;
    const child = spawn(file, args, { env: { ...base, LANG: 'C.UTF-8', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout: Buffer.concat(out), stderr: err, status }));
    child.stdin.on('error', () => undefined); // a fast exit before reading all of stdin is not the test's business
    child.stdin.end(input ?? '');
  });
}

/** Runs `jobs` two at a time (the machine has two cores). */
async function pool<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

/** A ONE root as ferry installs it: the drop-in, OpenNebula's original beside it, ferry's load_opennebula_paths.rb; and ferry-xpath built from source. */
function lab(t: Tap): { root: string; original: string; dropIn: string; rexml: string; stubDir: string; helper: string } {
  const src = corpusRoot(t);
  rubyAvailable(t);
  const root = tmpDir(t, 'ferry-xpath-');
  const remotes = join(root, 'var', 'remotes', 'datastore');
  const stubDir = join(root, 'lib', 'ruby');
  mkdirSync(remotes, { recursive: true });
  mkdirSync(stubDir, { recursive: true });
  const original = join(src, 'src', 'datastore_mad', 'remotes', 'xpath.rb');
  copyFileSync(join(packageRoot(), 'scripts', 'opennebula', 'lib', 'ruby', 'load_opennebula_paths.rb'), join(stubDir, 'load_opennebula_paths.rb'));
  copyFileSync(join(packageRoot(), 'scripts', 'opennebula', 'xpath.rb'), join(remotes, 'xpath.rb'));
  copyFileSync(original, join(remotes, 'xpath-rexml.rb'));
  chmodSync(join(remotes, 'xpath.rb'), 0o755);
  const helper = join(root, 'ferry-xpath');
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', '-o', helper, join(packageRoot(), 'src', 'compat', 'ferry-xpath.c')]);
  } catch (error) {
    t.fail(`cannot build ferry-xpath (install gcc: apt-get install gcc): ${(error as Error).message}`);
  }
  return { root, original, dropIn: join(remotes, 'xpath.rb'), rexml: join(remotes, 'xpath-rexml.rb'), stubDir, helper };
}

const b64 = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64');
const show = (r: Ran): string => `status ${r.status} stdout ${JSON.stringify(r.stdout.toString('latin1'))}${r.stderr ? ` stderr ${r.stderr.slice(0, 300)}` : ''}`;

const DS = `<DS_DRIVER_ACTION_DATA>
  <IMAGE>
    <ID>7</ID>
    <NAME><![CDATA[my image]]></NAME>
    <PATH><![CDATA[/var/tmp/a b/$(touch x)
line2]]></PATH>
    <SOURCE>/var/lib/one//datastores/1/3f2a</SOURCE>
    <SIZE>1024</SIZE>
    <FORMAT></FORMAT>
    <FS/>
    <TARGET_SNAPSHOT>  3 </TARGET_SNAPSHOT>
    <TEMPLATE><MD5>&lt;md5&gt; &amp; &quot;q&quot; &apos;a&apos; &#65;&#x263A;&#128512;</MD5><SHA1><!-- none --></SHA1></TEMPLATE>
  </IMAGE>
  <DATASTORE>
    <ID>1</ID>
    <BASE_PATH>/var/lib/one//datastores/1</BASE_PATH>
    <TYPE>0</TYPE>
    <TM_MAD>ssh</TM_MAD>
    <TEMPLATE>
      <BRIDGE_LIST><![CDATA[host1 host2]]></BRIDGE_LIST>
      <RESTRICTED_DIRS>/</RESTRICTED_DIRS>
      <SAFE_DIRS>/var/tmp</SAFE_DIRS>
      <DRIVER>qcow2</DRIVER>
      <NOTE>héllo wörld 日本語 &#x1F600; tab	end</NOTE>
    </TEMPLATE>
  </DATASTORE>
</DS_DRIVER_ACTION_DATA>`;

const VM = `<?xml version="1.0" encoding="UTF-8"?>
<!-- onevm show -x -->
<VM>
  <ID>42</ID><LCM_STATE>3</LCM_STATE><DEPLOY_ID>one-42</DEPLOY_ID>
  <TEMPLATE>
    <DISK><DISK_ID>0</DISK_ID><SOURCE>/ds/0/a</SOURCE><SIZE>10</SIZE><TM_MAD>ssh</TM_MAD><TARGET>vda</TARGET><CLONE>YES</CLONE><TYPE>FILE</TYPE></DISK>
    <DISK><DISK_ID> 1 </DISK_ID><SOURCE><![CDATA[/ds/0/b]]></SOURCE><TM_MAD>qcow2</TM_MAD><TARGET>vdb</TARGET><FORMAT>qcow2</FORMAT></DISK>
    <DISK><DISK_ID>2.0</DISK_ID><SOURCE>/ds/0/c&amp;d</SOURCE><TM_MAD/><TARGET>vdc</TARGET><NAME>x y</NAME></DISK>
    <DISK><DISK_ID>-0</DISK_ID><SOURCE>minus zero</SOURCE></DISK>
    <DISK><DISK_ID>10</DISK_ID><SOURCE>ten</SOURCE><TARGET>vdj</TARGET></DISK>
    <CONTEXT><DISK_ID>99</DISK_ID></CONTEXT>
  </TEMPLATE>
  <SNAPSHOTS><SNAPSHOT><ID>0</ID><NAME>s0</NAME></SNAPSHOT><SNAPSHOT><ID>1</ID><NAME>s1</NAME></SNAPSHOT></SNAPSHOTS>
  <HISTORY_RECORDS>
    <HISTORY><SEQ>0</SEQ><HOSTNAME>node1</HOSTNAME><DS_ID>0</DS_ID><VM_MAD>kvm</VM_MAD><ACTION>0</ACTION></HISTORY>
    <HISTORY><SEQ>1</SEQ><HOSTNAME>node2</HOSTNAME><DS_ID>100</DS_ID><VM_MAD>kvm</VM_MAD><ACTION>14</ACTION></HISTORY>
  </HISTORY_RECORDS>
  <BACKUPS><BACKUP_CONFIG><FS_FREEZE>NONE</FS_FREEZE></BACKUP_CONFIG></BACKUPS>
</VM>
`;

/** Every form the corpus's scripts use (grep xpath.rb in datastore_mad, tm_mad, mad/sh), and edge ones. */
const DS_EXPRS = [
  '/DS_DRIVER_ACTION_DATA/DATASTORE/BASE_PATH', '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/RESTRICTED_DIRS',
  '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/SAFE_DIRS', '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/BRIDGE_LIST',
  '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/STAGING_DIR', '/DS_DRIVER_ACTION_DATA/DATASTORE/TYPE',
  '/DS_DRIVER_ACTION_DATA/IMAGE/PATH', '/DS_DRIVER_ACTION_DATA/IMAGE/TEMPLATE/MD5', '/DS_DRIVER_ACTION_DATA/IMAGE/TEMPLATE/SHA1',
  '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/NO_DECOMPRESS', '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/DRIVER',
  '/DS_DRIVER_ACTION_DATA/IMAGE/SOURCE', '/DS_DRIVER_ACTION_DATA/IMAGE/SIZE', '/DS_DRIVER_ACTION_DATA/IMAGE/FORMAT',
  '/DS_DRIVER_ACTION_DATA/IMAGE/FS', '/DS_DRIVER_ACTION_DATA/IMAGE/TARGET_SNAPSHOT', '/DS_DRIVER_ACTION_DATA/IMAGE/NAME',
  '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/NOTE', '/DS_DRIVER_ACTION_DATA/DATASTORE/TM_MAD', '/DS_DRIVER_ACTION_DATA/IMAGE',
  '/DS_DRIVER_ACTION_DATA', 'IMAGE/ID', 'DATASTORE/TEMPLATE', '//ID', '//TEMPLATE/DRIVER', '%m%//ID', '%m%/DS_DRIVER_ACTION_DATA/*x',
  '/OTHER/ROOT', '%m%/DS_DRIVER_ACTION_DATA/IMAGE/NOPE', '/DS_DRIVER_ACTION_DATA/IMAGE[1]/ID', '/DS_DRIVER_ACTION_DATA/IMAGE[2]/ID',
  '//DS_DRIVER_ACTION_DATA/IMAGE/SIZE',
].filter((e) => !e.includes('*'));

const VM_EXPRS = [
  '/VM/TEMPLATE/DISK[DISK_ID=0]/SOURCE', '/VM/TEMPLATE/DISK[DISK_ID=1]/SOURCE', '/VM/TEMPLATE/DISK[DISK_ID=2]/SOURCE',
  '/VM/TEMPLATE/DISK[DISK_ID=10]/TARGET', '/VM/TEMPLATE/DISK[DISK_ID=0]/SIZE', '/VM/TEMPLATE/DISK[DISK_ID=0]/ORIGINAL_SIZE',
  '/VM/TEMPLATE/DISK[DISK_ID=1]/FORMAT', '/VM/TEMPLATE/DISK[DISK_ID=0]/CLONE', '/VM/TEMPLATE/DISK[DISK_ID=0]/TYPE',
  '/VM/TEMPLATE/DISK[DISK_ID=3]/SOURCE', "/VM/TEMPLATE/DISK[DISK_ID='0']/SOURCE", "/VM/TEMPLATE/DISK[DISK_ID='1']/SOURCE",
  '/VM/TEMPLATE/DISK[DISK_ID="10"]/SOURCE', "/VM/TEMPLATE/DISK[TARGET='vdb']/SOURCE",
  "/VM/TEMPLATE/DISK[NAME='x']/TARGET", "/VM/TEMPLATE/DISK[TM_MAD='']/TARGET", '/VM/TEMPLATE/DISK[TM_MAD="ssh"][1]/TARGET',
  '/VM/HISTORY_RECORDS/HISTORY[last()]/HOSTNAME', '/VM/HISTORY_RECORDS/HISTORY[last()]/VM_MAD', '/VM/HISTORY_RECORDS/HISTORY[last()]/DS_ID',
  '/VM/HISTORY_RECORDS/HISTORY[last()-1]/DS_ID', '/VM/HISTORY_RECORDS/HISTORY[last()-2]/DS_ID', '/VM/HISTORY_RECORDS/HISTORY[last()]/ACTION',
  '/VM/HISTORY_RECORDS/HISTORY[1]/SEQ', '/VM/HISTORY_RECORDS/HISTORY[2]/SEQ', '/VM/HISTORY_RECORDS/HISTORY[3]/SEQ',
  '/VM/HISTORY_RECORDS/HISTORY', '%m%/VM/TEMPLATE/DISK/TM_MAD', '%m%/VM/TEMPLATE/DISK/TARGET', '%m%/VM/TEMPLATE/DISK/FORMAT',
  '/VM/TEMPLATE/DISK/TARGET', '/VM/TEMPLATE/DISK', '/VM/LCM_STATE', '/VM/DEPLOY_ID', '/VM/BACKUPS/BACKUP_CONFIG/FS_FREEZE',
  '/VM/SNAPSHOTS/SNAPSHOT[ID=1]/NAME', '/VM/SNAPSHOTS/SNAPSHOT', '//DISK_ID', '%m%//DISK_ID', '//DISK[1]/TARGET', '//DISK[last()]/TARGET',
  '%m%//DISK[DISK_ID=0]/TARGET', 'TEMPLATE/DISK[2]/TARGET', 'TEMPLATE/CONTEXT/DISK_ID', '/VM/TEMPLATE/DISK[last()][DISK_ID=10]/SOURCE',
  '/VM/TEMPLATE/DISK[DISK_ID=0][last()]/SOURCE', '/VM/TEMPLATE/DISK[DISK_ID=0][1]/SOURCE',
];

/** Differential: the original under Ruby, then ferry-xpath with no Ruby to fall back to (so it must not need one). */
async function sameAsRuby(t: Tap, l: ReturnType<typeof lab>, cases: Case[], fast: boolean): Promise<void> {
  const results = await pool(
    cases.map((c) => async () => {
      const want = await run('ruby', ['-I', l.stubDir, l.original, ...c.args], c.input, {});
      const env: Record<string, string> = fast ? { FERRY_XPATH_RUBY: join(l.root, 'no-such-xpath-rexml.rb') } : { FERRY_XPATH_RUBY: l.rexml };
      const got = await run(l.helper, c.args, c.input, env);
      return { c, want, got };
    }),
  );
  for (const { c, want, got } of results) {
    const same = want.status === got.status && want.stdout.equals(got.stdout);
    if (!same) t.fail(`${c.name}: ferry-xpath ${show(got)}, ruby ${show(want)} (args ${JSON.stringify(c.args).slice(0, 400)})`);
    if (fast && got.stderr !== '') t.fail(`${c.name}: ferry-xpath wrote to stderr: ${got.stderr}`);
  }
  t.pass(`${cases.length} cases`);
}

/** The ways a script hands the dump over, each with its expressions. */
function deliveries(name: string, xml: string, exprs: string[]): Case[] {
  return [
    { name: `${name} -b`, args: ['-b', b64(xml), ...exprs] },
    { name: `${name} --stdin`, args: ['--stdin', ...exprs], input: xml },
    { name: `${name} stdin, no option`, args: exprs, input: xml },
    { name: `${name} --base64=`, args: [...exprs.slice(0, 2), `--base64=${b64(xml)}`, ...exprs.slice(2)] },
    { name: `${name} -s then --`, args: ['-s', '--', ...exprs], input: xml },
  ];
}

t.test('the drivers\' expressions on realistic dumps give Ruby\'s bytes and status, without Ruby', async (t) => {
  const l = lab(t);
  const cases: Case[] = [...deliveries('DS dump', DS, DS_EXPRS), ...deliveries('VM', VM, VM_EXPRS)];
  for (const e of [...DS_EXPRS.slice(0, 12)]) cases.push({ name: `DS ${e}`, args: ['-b', b64(DS), e] });
  for (const e of VM_EXPRS) cases.push({ name: `VM ${e}`, args: ['--stdin', e], input: VM });
  // 300 missing values: the status is their count modulo 256.
  cases.push({ name: '300 missing', args: ['-b', b64(DS), ...Array.from({ length: 300 }, () => '/DS_DRIVER_ACTION_DATA/NOPE')] });
  cases.push({ name: 'no expression', args: ['-b', b64(DS)] });
  cases.push({ name: 'base64 with line feeds', args: ['-b', b64(VM).replace(/(.{60})/g, '$1\n'), '/VM/DEPLOY_ID'] });
  cases.push({ name: 'base64 of one missing value', args: ['-b', b64('<A/>'), '/A', '/A/B', '%m%/A'] });
  cases.push({ name: 'deep', args: ['--stdin', '/A' + '/A'.repeat(62)], input: '<A>'.repeat(64) + 'deep' + '</A>'.repeat(64) });
  cases.push({ name: 'attributes ignored', args: ['-s', '/A/B', "/A/B[C='1']"], input: '<A k="v" j=\'w > x\'><B x="1"><C>1</C>t</B></A>' });
  cases.push({ name: 'whitespace text first', args: ['-s', '/A', '/A/B', '//B', '%m%/A/B'], input: '<A>\n  <B/>\n  x<![CDATA[c]]></A>' });
  cases.push({ name: 'CDATA first', args: ['-s', '/A', '/A/B'], input: '<A><![CDATA[<&>]]>tail<B><![CDATA[]]></B></A>' });
  cases.push({ name: 'comment before text', args: ['-s', '/A/B', '/A/C'], input: '<A><B><!--c-->after</B><C><!--only--></C></A>' });
  cases.push({ name: 'comparisons with raw text', args: ['-s', "/A/B[N='a&amp;b']/V", "/A/B[N='a&b']/V", '/A/B[M=1]/V', "/A/B[K='xy1']/V", '/A/B[C=12]/V'], input: '<A><B><N>a&amp;b</N><M>&#49;</M><K>x<L>y</L><!--c-->1</K><C><![CDATA[1]]>2</C><V>v</V></B></A>' });
  cases.push({ name: 'text after a child', args: ['-s', '/A', '/A/B'], input: '<A><B>in</B>after</A>' });
  cases.push({ name: 'decl and trailing comments', args: ['-s', '/R/V'], input: "<?xml version='1.0'?>\n<!-- a -->\n<R><V>v</V></R>\n<!-- b -->\n" });
  await sameAsRuby(t, l, cases, true);
});


const NAMES = ['DISK', 'DISK_ID', 'SOURCE', 'SIZE', 'TEMPLATE', 'HISTORY', 'ID', 'A', 'B_2', 'TM_MAD'];
const VALUES = ['0', '1', '2', '10', ' 1 ', '1.0', '1.', '.5', '-0', '-1', '007', '1e3', '0x1A', '', ' ', '\n  ', 'ssh', 'x y', '$(touch /tmp/p)', '`id`', 'a\nb',
  'é ü 日本 \u{1F600}', '&amp;', '&lt;x&gt;', 'a&quot;b&apos;', '&#65;', '&#x1F600;', '&#0010;', '<![CDATA[cd]]>', '<![CDATA[ 1 ]]>', '<![CDATA[]]>', 'x<![CDATA[y]]>', '<!--c-->z', 'tab\tx', '>', "'\""];

function genDoc(rand: () => number): { xml: string; paths: string[][] } {
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)] as T;
  const paths: string[][] = [];
  const element = (name: string, path: string[], depth: number): string => {
    paths.push(path);
    const r = rand();
    if (depth > 3 || r < 0.45) return r < 0.05 ? `<${name}/>` : `<${name}>${pick(VALUES)}</${name}>`;
    const kids = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(NAMES));
    const ws = rand() < 0.5 ? '\n  ' : '';
    const lead = rand() < 0.2 ? pick(VALUES) : '';
    return `<${name}>${lead}${kids.map((k) => ws + element(k, [...path, k], depth + 1)).join('')}${ws}</${name}>`;
  };
  const root = pick(['VM', 'DS_DRIVER_ACTION_DATA']);
  const body = element(root, [root], 0);
  return { xml: `${rand() < 0.3 ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}${body}${rand() < 0.3 ? '\n' : ''}`, paths };
}

function genExpr(rand: () => number, paths: string[][]): string {
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)] as T;
  const path = [...pick(paths)];
  if (rand() < 0.15) path.push(pick(NAMES));
  const steps = path.map((step) => {
    const r = rand();
    if (r < 0.55) return step;
    if (r < 0.65) return `${step}[${1 + Math.floor(rand() * 3)}]`;
    if (r < 0.72) return `${step}[last()]`;
    if (r < 0.77) return `${step}[last()-${Math.floor(rand() * 2)}]`;
    if (r < 0.87) return `${step}[${pick(NAMES)}=${pick(['0', '1', '2', '10'])}]`;
    return `${step}[${pick(NAMES)}=${pick(["'0'", "'1'", "'ssh'", "'x y'".replace(' ', '_'), "''", '"10"', "'-0'", "'$(x)'"])}]`;
  });
  const form = rand();
  const prefix = rand() < 0.25 ? '%m%' : '';
  if (form < 0.15 && steps.length > 1) return `${prefix}//${steps.slice(1 + Math.floor(rand() * (steps.length - 1))).join('/')}`;
  if (form < 0.25 && steps.length > 1) return `${prefix}${steps.slice(1).join('/')}`;
  return `${prefix}/${steps.join('/')}`;
}

t.test('a seeded random set of documents and expressions gives Ruby\'s bytes and status, without Ruby', async (t) => {
  const l = lab(t);
  const rand = random(20260820);
  const cases: Case[] = [];
  for (let i = 0; i < 240; i++) {
    const { xml, paths } = genDoc(rand);
    const exprs = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => genExpr(rand, paths));
    cases.push(rand() < 0.5 ? { name: `random ${i}`, args: ['-b', b64(xml), ...exprs] } : { name: `random ${i}`, args: ['--stdin', ...exprs], input: xml });
  }
  await sameAsRuby(t, l, cases, true);
});

/** Outside the subset: ferry-xpath must hand these to Ruby (no Ruby: exit 255), and with it give Ruby's exact bytes. */
const FALLBACKS: Case[] = [
  { name: 'DOCTYPE', args: ['-s', '/A'], input: '<!DOCTYPE A [<!ENTITY e "x">]><A>&e;</A>' },
  { name: 'carriage return', args: ['-s', '/A'], input: '<A>a\r\nb</A>' },
  { name: '-t subtree', args: ['-t', '-s', '/A/B'], input: '<A><B>x</B></A>' },
  { name: '--subtree', args: ['--subtree', '-b', b64('<A><B>x</B></A>'), '/A/B'] },
  { name: 'attribute step', args: ['-s', '/A/@k'], input: '<A k="v"/>' },
  { name: 'attribute predicate', args: ['-s', "/A/B[@k='v']"], input: '<A><B k="v">x</B></A>' },
  { name: 'function', args: ['-s', 'count(/A/B)', 'string(/A)', '/A/B/text()'], input: '<A><B>x</B></A>' },
  { name: 'hex number', args: ['-s', '/A/B[I=0x1A]/V'], input: '<A><B><I>26</I><V>v</V></B></A>' },
  { name: 'decimal number', args: ['-s', '/A/B[I=1.5]/V', "/A/B[I='1.50']/V"], input: '<A><B><I>1.5</I><V>v</V></B></A>' },
  { name: 'leading zero', args: ['-s', '/A/B[I=007]/V'], input: '<A><B><I>7</I><V>v</V></B></A>' },
  { name: 'malformed', args: ['-s', '/A'], input: '<A><B>x</C></A>' },
  { name: 'unclosed', args: ['-s', '/A'], input: '<A><B>x</B>' },
  { name: 'junk after root', args: ['-s', '/A'], input: '<A>x</A>junk' },
  { name: 'two roots', args: ['-s', '/A'], input: '<A>x</A><B/>' },
  { name: 'empty stdin', args: ['-s', '/A'], input: '' },
  { name: 'base64 with a bad character', args: ['-b', `${b64('<A>x</A>')}!`, '/A'] },
  { name: 'base64 unpadded', args: ['-b', b64('<A>x</A>').replace(/=+$/, ''), '/A'] },
  { name: 'base64 padding inside', args: ['-b', `${b64('<A>x</A>')}${b64('<B/>')}`, '/A'] },
  { name: 'base64 of nothing', args: ['-b', '', '/A'] },
  { name: '-b value starting with -', args: ['-b', '-s', '/A'], input: '<A>x</A>' },
  { name: 'abbreviated option', args: ['--std', '/A'], input: '<A>x</A>' },
  { name: 'unknown option', args: ['-x', '/A'], input: '<A>x</A>' },
  { name: 'undeclared entity', args: ['-s', '/A'], input: '<A>x&foo;y</A>' },
  { name: 'bare ampersand', args: ['-s', '/A'], input: '<A>x & y</A>' },
  { name: 'reference to NUL', args: ['-s', '/A'], input: '<A>&#0;</A>' },
  { name: 'namespace', args: ['-s', '/A/B'], input: '<A xmlns="urn:x"><B>x</B></A>' },
  { name: 'prefixed name', args: ['-s', '/A/p:B'], input: '<A xmlns:p="urn:x"><p:B>x</p:B></A>' },
  { name: 'processing instruction', args: ['-s', '/A'], input: '<A><?pi x?>t</A>' },
  { name: 'too deep', args: ['-s', '/A'], input: '<A>'.repeat(70) + '</A>'.repeat(70) },
  { name: 'a string literal with a space', args: ['-s', "/A/B[N=' 1 ']/V"], input: '<A><B><N> 1 </N><V>v</V></B></A>' },
  { name: 'spaces in the xpath', args: ['-s', '/A/B[ N = 1 ]/V'], input: '<A><B><N>1</N><V>v</V></B></A>' },
  { name: 'empty xpath', args: ['-s', ''], input: '<A>x</A>' },
  { name: 'latin-1 declaration', args: ['-s', '/A'], input: '<?xml version="1.0" encoding="ISO-8859-1"?><A>x</A>' },
  { name: 'byte order mark', args: ['-s', '/A'], input: '\uFEFF<A>x</A>' },
  { name: 'many references', args: ['-s', '/A'], input: `<A>${'&#x1F600;'.repeat(3000)}</A>` },
  { name: '// in the middle', args: ['-s', '/A//C'], input: '<A><B><C>x</C></B></A>' },
];

t.test('outside the subset it falls back: without Ruby it refuses, with Ruby it gives Ruby\'s exact bytes', async (t) => {
  const l = lab(t);
  const refused = await pool(FALLBACKS.map((c) => () => run(l.helper, c.args, c.input, { FERRY_XPATH_RUBY: join(l.root, 'nope.rb') })));
  FALLBACKS.forEach((c, i) => {
    const r = refused[i] as Ran;
    t.equal(r.status, 255, `${c.name}: handed to Ruby (${show(r)})`);
    t.equal(r.stdout.length, 0, `${c.name}: nothing written before falling back`);
    t.match(r.stderr, /FERRY_XPATH_RUBY/, `${c.name}: says what is missing`);
  });
  await sameAsRuby(t, l, FALLBACKS, false);
});

t.test('the stdin bytes reach Ruby whole when it falls back after reading them (over 8 MiB too)', async (t) => {
  const l = lab(t);
  const big = `<A><!--${'x'.repeat(9 * 1024 * 1024)}--><B>big</B></A>`;
  await sameAsRuby(t, l, [{ name: 'over 8 MiB on stdin', args: ['-s', '/A/B'], input: big }], false);
});

t.test('the drop-in: ferry-xpath when FERRY_XPATH is set, the original under Ruby otherwise, same output', async (t) => {
  const l = lab(t);
  const args = ['-b', b64(VM), '/VM/TEMPLATE/DISK[DISK_ID=1]/SOURCE', '/VM/NOPE', '%m%/VM/TEMPLATE/DISK/TM_MAD'];
  const want = await run('ruby', ['-I', l.stubDir, l.original, ...args], undefined, {});
  t.equal(want.status, 1);
  // With FERRY_XPATH: the C path, run from the ONE root (RUBYLIB found from the drop-in's own folder).
  const fast = await run(l.dropIn, args, undefined, { FERRY_XPATH: l.helper });
  t.same([fast.status, fast.stdout.toString('latin1'), fast.stderr], [want.status, want.stdout.toString('latin1'), ''], 'C path');
  // Without it: Ruby on xpath-rexml.rb, which finds ferry's load_opennebula_paths.rb in <root>/lib/ruby.
  const slow = await run(l.dropIn, args, undefined, {});
  t.same([slow.status, slow.stdout.toString('latin1'), slow.stderr], [want.status, want.stdout.toString('latin1'), ''], 'Ruby path');
  // ONE_LOCATION names the root the same way.
  const viaOne = await run(l.dropIn, args, undefined, { ONE_LOCATION: l.root });
  t.same([viaOne.status, viaOne.stdout.toString('latin1')], [want.status, want.stdout.toString('latin1')], 'Ruby path with ONE_LOCATION');
  // A fallback through the drop-in: ferry-xpath execs xpath-rexml.rb under Ruby with the same stdin.
  const odd = '<!DOCTYPE A><A>a&#x263A;</A>';
  const wantOdd = await run('ruby', ['-I', l.stubDir, l.original, '--stdin', '/A'], odd, {});
  const gotOdd = await run(l.dropIn, ['--stdin', '/A'], odd, { FERRY_XPATH: l.helper, FERRY_XPATH_TRACE: '1' });
  t.same([gotOdd.status, gotOdd.stdout.toString('latin1')], [wantOdd.status, wantOdd.stdout.toString('latin1')], 'fallback through the drop-in');
  t.match(gotOdd.stderr, /falling back to REXML/);
  // Run by a relative path from its own folder, as `./xpath.rb`.
  const rel = await new Promise<Ran>((resolve) => {
    const child = spawn('./xpath.rb', args, { cwd: join(l.root, 'var', 'remotes', 'datastore'), env: { PATH: process.env.PATH ?? '' } });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('close', (status) => resolve({ stdout: Buffer.concat(out), stderr: '', status }));
  });
  t.same([rel.status, rel.stdout.toString('latin1')], [want.status, want.stdout.toString('latin1')], 'relative path');
});

t.test('ferry\'s load_opennebula_paths.rb loads with nothing installed and with a gems folder', async (t) => {
  const l = lab(t);
  const stub = join(l.stubDir, 'load_opennebula_paths.rb');
  const bare = await run('ruby', ['-e', `require ${JSON.stringify(stub)}; print :ok`], undefined, {});
  t.same([bare.status, bare.stdout.toString()], [0, 'ok']);
  const gems = tmpDir(t);
  const withGems = await run('ruby', ['-e', `GEMS_LOCATION = ${JSON.stringify(gems)}; require ${JSON.stringify(stub)}; print Gem.path.include?(GEMS_LOCATION)`], undefined, {});
  t.same([withGems.status, withGems.stdout.toString()], [0, 'true']);
});
