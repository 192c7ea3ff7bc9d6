/** The top level of the command line: help, version, usage errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { usageOf } from '../../src/contract/args.js';
import { TM_ACTIONS, TM_CONTRACT } from '../../src/contract/table.js';
import { EXIT_STATUS } from '../../src/errors.js';
import { repoRoot, runCli, specExamplePath } from './helpers.js';

const pkgVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

t.test('--help shows the commands, examples and the exit status table, and exits 0', async (t) => {
  for (const flag of ['--help', '-h']) {
    const { status, stdout, stderr } = await runCli([flag]);
    t.equal(status, 0, `${flag} exits 0`);
    t.equal(stderr, '', `${flag} writes nothing on stderr`);
    t.match(stdout, /Usage: ferry/);
    for (const command of ['ds', 'tm', 'dump', 'xpath', 'drivers']) t.match(stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `lists ${command}`);
    for (const option of ['--remotes', '--config', '--json', '--timeout', '--log-level', '--version']) t.match(stdout, option, `lists ${option}`);
    t.match(stdout, /Examples:/);
    t.match(stdout, /\$ ferry ds stat /);
    t.match(stdout, /\$ ferry tm transfer /);
    t.match(stdout, /Exit status:/);
    // Every status of the README table, each with its meaning.
    t.match(stdout, /^\s+0\s+success/m);
    t.match(stdout, /^\s+1\s+the driver failed/m);
    t.match(stdout, /^\s+2\s+usage or bad input/m);
    t.match(stdout, /^\s+70\s+internal/m);
    t.match(stdout, /^\s+124\s+.*timed out/m);
    t.match(stdout, /^\s+130\s+interrupted/m);
  }
});

t.test('the exit status table matches EXIT_STATUS', async (t) => {
  const { stdout } = await runCli(['--help']);
  const listed = new Set([...stdout.matchAll(/^\s+(\d+)\s{2,}\S/gm)].map((m) => Number(m[1])));
  for (const [code, status] of Object.entries(EXIT_STATUS)) t.ok(listed.has(status), `${code} -> ${status} is in the table`);
});

t.test('subcommand help exits 0 and shows examples', async (t) => {
  const ds = await runCli(['ds', '--help']);
  t.equal(ds.status, 0);
  t.match(ds.stdout, /Usage: ferry ds/);
  t.match(ds.stdout, /--driver/);
  t.match(ds.stdout, /Examples:/);
  for (const action of ['cp', 'mkfs', 'rm', 'stat', 'clone', 'monitor', 'snap_delete', 'snap_flatten', 'snap_revert']) {
    t.match(ds.stdout, new RegExp(`^\\s+${action}\\s`, 'm'), `ds --help lists ${action}`);
  }
  const tm = await runCli(['tm', '--help']);
  t.equal(tm.status, 0);
  t.match(tm.stdout, /Usage: ferry tm/);
  for (const action of TM_ACTIONS) {
    const usage = usageOf(TM_CONTRACT[action].args);
    t.ok(tm.stdout.split('\n').some((line) => line.trim().startsWith(action) && line.trim().endsWith(usage)), `tm --help: ${action} ${usage}`);
  }
  t.match(tm.stdout, /\$ ferry tm transfer /);
  const dump = await runCli(['dump', '--help']);
  t.equal(dump.status, 0);
  t.match(dump.stdout, /\$ ferry dump encode /);
  const drivers = await runCli(['drivers', 'list', '--help']);
  t.equal(drivers.status, 0);
  t.match(drivers.stdout, /\$ ferry drivers list/);
});

t.test('--version prints "ferry <version> (driver API 1..1)"', async (t) => {
  for (const flag of ['--version', '-V']) {
    const { status, stdout, stderr } = await runCli([flag]);
    t.equal(status, 0);
    t.equal(stdout, `ferry ${pkgVersion} (driver API 1..1)\n`);
    t.equal(stderr, '');
  }
});

t.test('no arguments prints the help and exits 2', async (t) => {
  const { status, stdout, stderr } = await runCli([]);
  t.equal(status, 2);
  const shown = stdout + stderr;
  t.match(shown, /Usage: ferry/);
  t.match(shown, /Exit status:/);
});

t.test('an unknown command exits 2 and names it', async (t) => {
  const { status, stdout, stderr } = await runCli(['bogus']);
  t.equal(status, 2);
  t.equal(stdout, '');
  t.match(stderr, /unknown command 'bogus'/);
});

t.test('an unknown option exits 2 and names it', async (t) => {
  const top = await runCli(['--bogus']);
  t.equal(top.status, 2);
  t.match(top.stderr, /unknown option '--bogus'/);
  t.equal(top.stdout, '');
  const sub = await runCli(['ds', 'stat', specExamplePath, '0', '--driver', 'dummy', '--bogus']);
  t.equal(sub.status, 2, 'an unknown ds option is refused, nothing is run');
  t.match(sub.stderr, /--bogus/);
  t.equal(sub.stdout, '');
});

t.test('bad global flag values exit 2', async (t) => {
  const level = await runCli(['--log-level', 'loud', 'drivers', 'list']);
  t.equal(level.status, 2);
  t.match(level.stderr, /loud/);
  for (const value of ['abc', '0', '-1', '']) {
    const timeout = await runCli(['--timeout', value, 'ds', 'stat', specExamplePath, '0', '--driver', 'dummy']);
    t.equal(timeout.status, 2, `--timeout ${JSON.stringify(value)} exits 2`);
    t.equal(timeout.stdout, '', `--timeout ${JSON.stringify(value)} runs nothing`);
  }
});

t.test('missing command arguments exit 2', async (t) => {
  const ds = await runCli(['ds', 'stat']);
  t.equal(ds.status, 2);
  t.match(ds.stderr, /missing required argument/);
  const dump = await runCli(['dump']);
  t.equal(dump.status, 2);
});

t.test('an unknown remotes folder exits 2 and names it', async (t) => {
  const { status, stderr } = await runCli(['--remotes', '/nonexistent/ferry-remotes', 'drivers', 'list']);
  t.equal(status, 2);
  t.match(stderr, /\/nonexistent\/ferry-remotes/);
});
