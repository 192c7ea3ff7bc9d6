/**
 * `ferry xpath`: in-process through runXpath (and main), then the documented
 * bash idiom against the built executable.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { runXpath } from '../../src/cli/xpath.js';
import { base64Of, binBuilt, binMissingMessage, binPath, cleanEnv, memoryIo, runCli, specExampleXml } from './helpers.js';

const DOC = `<A>
  <B>two words</B>
  <C>line1
line2</C>
  <D><![CDATA[ cdata & <tags> ]]></D>
  <E/>
  <M>1</M><M>2</M><M>3</M>
  <N><ID>10</ID></N><N><ID>11</ID></N>
</A>`;
const B64 = base64Of(DOC);

async function xpath(argv: string[], stdin?: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const io = memoryIo(stdin === undefined ? {} : { stdin });
  const status = await runXpath(argv, io);
  return { status, stdout: io.out(), stderr: io.err() };
}

/** The NUL-terminated values of stdout (fails when the last value is not terminated). */
function values(stdout: string): string[] {
  if (stdout !== '' && !stdout.endsWith('\0')) throw new Error(`stdout does not end with NUL: ${JSON.stringify(stdout)}`);
  return stdout === '' ? [] : stdout.slice(0, -1).split('\0');
}

t.test('values are NUL-terminated, in the order asked', async (t) => {
  const { status, stdout, stderr } = await xpath(['-b', B64, '/A/M', '/A/B', '/A/C', '/A/D']);
  t.equal(status, 0);
  t.equal(stderr, '');
  t.equal(stdout, '1\0two words\0line1\nline2\0 cdata & <tags> \0', 'every value followed by NUL');
  t.same(values(stdout), ['1', 'two words', 'line1\nline2', ' cdata & <tags> ']);
});

t.test('a missing element gives an empty value in its place', async (t) => {
  const { status, stdout } = await xpath(['-b', B64, '/A/B', '/A/NOPE', '/A/E', '/X/Y', '/A/M']);
  t.equal(status, 0);
  t.same(values(stdout), ['two words', '', '', '', '1']);
  t.equal(stdout, ['two words', '', '', '', '1'].map((v) => `${v}\u0000`).join(''));
});

t.test('%m% joins every match with a space; //NAME matches anywhere', async (t) => {
  const { status, stdout } = await xpath(['-b', B64, '%m%/A/M', '%m%/A/N/ID', '%m%/A/NOPE', '//ID', '%m%//ID']);
  t.equal(status, 0);
  t.same(values(stdout), ['1 2 3', '10 11', '', '10', '10 11']);
});

t.test('the spec example dump', async (t) => {
  const dump = specExampleXml();
  const { status, stdout } = await xpath([
    '--base64',
    base64Of(dump),
    '/DS_DRIVER_ACTION_DATA/IMAGE/PATH',
    '/DS_DRIVER_ACTION_DATA/IMAGE/SIZE',
    '/DS_DRIVER_ACTION_DATA/DATASTORE/TEMPLATE/TM_MAD',
    '/DS_DRIVER_ACTION_DATA/IMAGE/SOURCE',
    '/DS_DRIVER_ACTION_DATA/DATASTORE/BASE_PATH',
  ]);
  t.equal(status, 0);
  t.same(values(stdout), ['/tmp/ttylinux.img', '40', 'shared', '', '']);
  const eq = await xpath([`--base64=${base64Of(dump)}`, '/DS_DRIVER_ACTION_DATA/IMAGE/NAME']);
  t.equal(eq.status, 0, '--base64=B64');
  t.same(values(eq.stdout), ['ttylinux']);
});

t.test('--stdin with XML and with base64', async (t) => {
  const xml = await xpath(['--stdin', '/A/B', '/A/C'], DOC);
  t.equal(xml.status, 0);
  t.same(values(xml.stdout), ['two words', 'line1\nline2']);
  const b64 = await xpath(['--stdin', '/A/B', '/A/NOPE'], `${B64}\n`);
  t.equal(b64.status, 0);
  t.same(values(b64.stdout), ['two words', '']);
  const wrapped = await xpath(['--stdin', '%m%/A/M'], B64.replace(/(.{20})/g, '$1\n'));
  t.equal(wrapped.status, 0, 'base64 over several lines');
  t.same(values(wrapped.stdout), ['1 2 3']);
});

t.test('-- ends the options', async (t) => {
  const { status, stdout } = await xpath(['-b', B64, '--', '/A/B']);
  t.equal(status, 0);
  t.same(values(stdout), ['two words']);
});

t.test('bad base64 or bad XML: exit 2, nothing on stdout', async (t) => {
  for (const [name, argv, stdin] of [
    ['bad base64', ['-b', 'abc!', '/A'], undefined],
    ['bad length', ['-b', 'abcde', '/A'], undefined],
    ['malformed XML', ['--stdin', '/A'], '<A><B></A>'],
    ['base64 of non-XML', ['-b', base64Of('hello'), '/A'], undefined],
  ] as const) {
    const { status, stdout, stderr } = await xpath([...argv], stdin);
    t.equal(status, 2, `${name}: exit 2`);
    t.equal(stdout, '', `${name}: nothing on stdout`);
    t.match(stderr, /^ferry xpath: /, `${name}: an error message`);
  }
});

t.test('no dump source, no xpath, an unknown option, -b without value: exit 2', async (t) => {
  const noSource = await xpath(['/A/B']);
  t.equal(noSource.status, 2);
  t.match(noSource.stderr, /-b B64 or --stdin/);
  t.equal(noSource.stdout, '');
  const noExpr = await xpath(['-b', B64]);
  t.equal(noExpr.status, 2);
  t.match(noExpr.stderr, /xpath/);
  const unknown = await xpath(['-x', '-b', B64, '/A']);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /unknown option -x/);
  const noValue = await xpath(['/A', '-b']);
  t.equal(noValue.status, 2);
  const nothing = await xpath([]);
  t.equal(nothing.status, 2);
});

t.test('--help and -h: usage on stdout, exit 0', async (t) => {
  for (const flag of ['--help', '-h']) {
    const { status, stdout, stderr } = await xpath([flag]);
    t.equal(status, 0);
    t.equal(stderr, '');
    t.match(stdout, /Usage: ferry xpath \[-b B64 \| --stdin\] <xpath>\.\.\./);
    t.match(stdout, /while IFS= read -r -d '' v/);
  }
});

t.test('through main: ferry xpath ... behaves the same', async (t) => {
  const { status, stdout } = await runCli(['xpath', '-b', B64, '/A/B', '/A/NOPE', '%m%/A/M']);
  t.equal(status, 0);
  t.same(values(stdout), ['two words', '', '1 2 3']);
  const stdin = await runCli(['xpath', '--stdin', '/A/C'], { stdin: DOC });
  t.equal(stdin.status, 0);
  t.same(values(stdin.stdout), ['line1\nline2']);
  const bad = await runCli(['xpath', '/A/B']);
  t.equal(bad.status, 2);
  const help = await runCli(['xpath', '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /Usage: ferry xpath/);
});

/** Runs a bash script with env vars; resolves to its stdout, stderr and status. */
function bash(script: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

t.test('the documented bash idiom reads every value into an array (built ferry)', async (t) => {
  if (!binBuilt()) {
    t.fail(binMissingMessage);
    return;
  }
  // Prints the element count, then each element followed by \x1f.
  const script = `
set -eu
arr=()
while IFS= read -r -d '' v; do arr+=("$v"); done < <(node "$FERRY" xpath -b "$B64" /A/B /A/C /A/NOPE /A/D %m%/A/M /A/E)
printf '%s\\n' "\${#arr[@]}"
printf '%s\\x1f' "\${arr[@]}"
`;
  const { status, stdout, stderr } = await bash(script, { FERRY: binPath, B64 });
  t.equal(status, 0, stderr);
  const newline = stdout.indexOf('\n');
  t.equal(stdout.slice(0, newline), '6', 'six values read, the empty ones included');
  const read = stdout.slice(newline + 1).split('\x1f').slice(0, -1);
  t.same(read, ['two words', 'line1\nline2', '', ' cdata & <tags> ', '1 2 3', '']);
  t.equal(read[0], 'two words', 'a value with a space stays one element');
  t.equal(read[1], 'line1\nline2', 'a value with a newline stays one element');
});

t.test('the bash idiom with the spec example as a driver gets it (base64 in $1)', async (t) => {
  if (!binBuilt()) {
    t.fail(binMissingMessage);
    return;
  }
  const script = `
set -eu
XPATH_ELEMENTS=()
while IFS= read -r -d '' v; do XPATH_ELEMENTS+=("$v"); done < <(node "$FERRY" xpath -b "$1" \\
    /DS_DRIVER_ACTION_DATA/IMAGE/PATH /DS_DRIVER_ACTION_DATA/DATASTORE/BASE_PATH /DS_DRIVER_ACTION_DATA/IMAGE/SIZE)
printf '%s|' "\${XPATH_ELEMENTS[@]}"
`;
  const result = await new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'driver', base64Of(specExampleXml())], { env: cleanEnv({ FERRY: binPath }), stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out).toString('utf8') }));
  });
  t.equal(result.status, 0);
  t.equal(result.stdout, '/tmp/ttylinux.img||40|');
});

t.test('the built ferry xpath exits 2 on a bad dump and prints nothing on stdout', async (t) => {
  if (!binBuilt()) {
    t.fail(binMissingMessage);
    return;
  }
  const { status, stdout, stderr } = await bash('node "$FERRY" xpath -b "abc!" /A', { FERRY: binPath });
  t.equal(status, 2);
  t.equal(stdout, '');
  t.match(stderr, /ferry xpath: /);
});

t.test('the built ferry xpath loads neither the logger nor the rest of the CLI', async (t) => {
  t.ok(binBuilt(), binMissingMessage);
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-xpath-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'loaded.txt');
  // A module hook that records every module the process loads.
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }\n`);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});\n`);
  const run = (args: string[]): string[] => {
    writeFileSync(log, '');
    const result = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), binPath, ...args], { env: cleanEnv(), encoding: 'utf8' });
    t.equal(result.status, 0, `ferry ${args[0]} exits 0: ${result.stderr}`);
    return readFileSync(log, 'utf8').split('\n').filter((url) => url.includes('/dist/') || url.includes('node_modules'));
  };
  const xpathLoads = run(['xpath', '-b', base64Of(specExampleXml()), '/DS_DRIVER_ACTION_DATA/IMAGE/NAME']);
  const versionLoads = run(['--version']);
  t.ok(versionLoads.some((url) => /\/main-[^/]*\.js$/.test(url)), 'the hook sees the CLI chunk when the full CLI loads');
  t.notOk(xpathLoads.some((url) => /\/main-[^/]*\.js$/.test(url)), 'xpath does not load the CLI chunk (commander, pino wiring)');
  t.notOk(xpathLoads.some((url) => url.includes('pino')), 'xpath does not load pino');
  t.ok(xpathLoads.length < versionLoads.length, `xpath loads fewer modules (${xpathLoads.length}) than the full CLI (${versionLoads.length})`);
});
