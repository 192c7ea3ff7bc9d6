// remotes/scripts_common.sh, exercised the way drivers use it: sourced by sh (dash) and by bash.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Runner } from '../../src/driver/runner.js';
import { tmpDir } from '../helpers/fixtures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const library = join(root, 'remotes', 'scripts_common.sh');
const SHELLS = ['sh', 'bash'] as const;

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` in SHELL after sourcing the library, with positional arguments. */
function lib(shell: string, script: string, args: string[] = [], env: Record<string, string> = {}): Ran {
  const run = spawnSync(shell, ['-c', `. "${library}"\n${script}`, 'test-driver/action', ...args], {
    encoding: 'utf8',
    env: { ...process.env, FERRY_SCRIPT_NAME: 'test/action', ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

t.test('the library parses with sh -n and bash -n', async (t) => {
  for (const shell of SHELLS) t.equal(spawnSync(shell, ['-n', library]).status, 0, `${shell} -n`);
});

t.test('arg_host and arg_path', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['host01:/var/lib/one/datastores/0/7/disk.0', 'host01', '/var/lib/one/datastores/0/7/disk.0'],
    ['/bare/path', '', '/bare/path'],
    ['host:/path/with:colon', 'host', '/path/with:colon'],
    ['/path/with:colon', '', '/path/with:colon'],
    ['host01:/var//lib///one/', 'host01', '/var/lib/one'],
    ['host01:/', 'host01', '/'],
    ['fe:one/one-5', 'fe', 'one/one-5'],
    ['relative/a:b', '', 'relative/a:b'],
    ['host01:/dir with space/disk.0', 'host01', '/dir with space/disk.0'],
  ];
  for (const shell of SHELLS) {
    for (const [arg, host, path] of cases) {
      const run = lib(shell, 'printf "%s|%s" "$(arg_host "$1")" "$(arg_path "$1")"', [arg]);
      t.equal(run.stdout, `${host}|${path}`, `${shell}: ${arg}`);
    }
  }
});

t.test('shell_quote: what it prints, sh reads back as the same arguments', async (t) => {
  const hostile = ['plain', 'with space', "it's", '$(touch pwned)', '`id`', 'a;b|c&d', '', 'new\nline', '\\back'];
  for (const shell of SHELLS) {
    const run = lib(shell, 'q=$(shell_quote "$@"); eval "set -- $q"; for a in "$@"; do printf "[%s]" "$a"; done', hostile);
    t.equal(run.stdout, hostile.map((a) => `[${a}]`).join(''), `${shell}: round trip`);
  }
});

t.test('log_* and error_message write tagged lines on stderr only', async (t) => {
  for (const shell of SHELLS) {
    const run = lib(shell, 'log "hello"; log_info "i"; log_warn "w"; log_error "e"; log_debug "d"; error_message "boom happened"');
    t.equal(run.stdout, '', `${shell}: nothing on stdout`);
    t.equal(
      run.stderr,
      'INFO: test/action: hello\nINFO: test/action: i\nWARN: test/action: w\nERROR: test/action: e\nDEBUG: test/action: d\nERROR MESSAGE --8<------\nboom happened\nERROR MESSAGE ------>8--\n',
    );
  }
});

t.test('exec_and_log runs argument lists intact and keeps stdout clean', async (t) => {
  const dir = tmpDir(t);
  for (const shell of SHELLS) {
    const target = join(dir, `${shell} file with 'quotes' and spaces`);
    const ok = lib(shell, 'exec_and_log touch "$1"; exec_and_log echo "to stderr"; echo result', [target]);
    t.equal(ok.status, 0);
    t.ok(existsSync(target), `${shell}: the file with spaces was created`);
    t.equal(ok.stdout, 'result\n', `${shell}: a command's stdout does not reach the driver's stdout`);
    t.match(ok.stderr, /^to stderr$/m);

    const failed = lib(shell, 'exec_and_log ls /nonexistent-ferry; echo unreachable');
    t.equal(failed.status, 1, `${shell}: exits 1`);
    t.equal(failed.stdout, '');
    t.match(failed.stderr, /ERROR MESSAGE --8<------\nError executing 'ls' '\/nonexistent-ferry': ls: cannot access/);
    t.match(failed.stderr, /ERROR: test\/action: command failed \(status 2\)/, 'the real exit status is logged');

    const message = lib(shell, 'exec_and_log -m "Cannot list the datastore" ls /nonexistent-ferry');
    t.match(message.stderr, /ERROR MESSAGE --8<------\nCannot list the datastore: ls: cannot access/);
  }
});

t.test('exec_and_set_error sets ERROR and returns the status', async (t) => {
  for (const shell of SHELLS) {
    const run = lib(shell, 'if exec_and_set_error sh -c "echo out; echo bad >&2; exit 3"; then echo ok; else echo "status=$? error=$ERROR"; fi');
    t.equal(run.stdout, 'out\nstatus=3 error=bad\n', shell);
  }
});

t.test('timeout_exec_and_log kills a command past its time and says so', async (t) => {
  for (const shell of SHELLS) {
    const started = Date.now();
    const run = lib(shell, 'timeout_exec_and_log 1 sleep 30');
    t.equal(run.status, 1);
    t.ok(Date.now() - started < 10_000, `${shell}: stopped well before the command would end`);
    t.match(run.stderr, /timed out after 1 s/);
    t.equal(lib(shell, 'timeout_exec_and_log 5 true; echo fine').stdout, 'fine\n');
  }
});

t.test('host_is_local, on_host and ssh_exec_and_log run local hosts without ssh', async (t) => {
  const dir = tmpDir(t);
  for (const shell of SHELLS) {
    const local = lib(shell, 'for h in "" localhost "$(hostname)" fe host01 host02; do if host_is_local "$h"; then printf "%s=local " "$h"; else printf "%s=remote " "$h"; fi; done', [], {
      FERRY_LOCAL_HOSTS: 'fe host01',
    });
    t.match(local.stdout, /^=local localhost=local \S+=local fe=local host01=local host02=remote $/, shell);
    const made = join(dir, `${shell} made/deep`);
    const run = lib(shell, 'ssh_make_path host01 "$1" && on_host host01 touch "$1/x y"', [made], { FERRY_LOCAL_HOSTS: 'host01' });
    t.equal(run.status, 0, run.stderr);
    t.ok(existsSync(join(made, 'x y')), `${shell}: made on the local host`);
    const failed = lib(shell, 'ssh_exec_and_log host01 -m "Cannot prepare the VM folder" false', [], { FERRY_LOCAL_HOSTS: 'host01' });
    t.equal(failed.status, 1);
    t.match(failed.stderr, /Cannot prepare the VM folder/);
  }
});

t.test('ferry_ssh to an unreachable host fails fast instead of hanging', async (t) => {
  const dir = tmpDir(t);
  const config = join(dir, 'ssh_config');
  writeFileSync(config, 'Host nowhere\n    HostName 127.0.0.1\n    Port 1\n    BatchMode yes\n    ConnectTimeout 3\n');
  const started = Date.now();
  const run = lib('sh', 'ssh_exec_and_log nowhere true', [], { FERRY_SSH_CONFIG: config });
  t.equal(run.status, 1);
  t.ok(Date.now() - started < 15_000);
  t.match(run.stderr, /Cannot reach host nowhere over ssh \(ssh exit 255\)/, 'the message names the host and says it could not be reached');
});

t.test('host_query passes stdout through and dies naming the host, or saying ssh could not reach it', async (t) => {
  const dir = tmpDir(t);
  const config = join(dir, 'ssh_config');
  writeFileSync(config, 'Host nowhere\n    HostName 127.0.0.1\n    Port 1\n    BatchMode yes\n    ConnectTimeout 3\n');
  for (const shell of SHELLS) {
    const ok = lib(shell, 'out=$(host_query host01 "Cannot look" sh -c "echo \\"\\$1\\"; echo note >&2" sh "a b"); printf "[%s]" "$out"', [], { FERRY_LOCAL_HOSTS: 'host01' });
    t.equal(ok.stdout, '[a b]', `${shell}: the command's stdout, its argument intact`);
    t.match(ok.stderr, /^DEBUG: test\/action: host01 said: note$/m, `${shell}: stderr of a success is a debug record`);
    const failed = lib(shell, 'host_query host01 "Cannot look at /x" sh -c "echo gone >&2; exit 3"; echo after', [], { FERRY_LOCAL_HOSTS: 'host01' });
    t.equal(failed.status, 1, `${shell}: dies`);
    t.equal(failed.stdout, '', `${shell}: nothing after`);
    t.match(failed.stderr, /Cannot look at \/x \(on host01, status 3\): gone/);
    const local = lib(shell, 'host_query "" "Cannot look" false');
    t.match(local.stderr, /Cannot look \(on localhost, status 1\)/, `${shell}: an empty host is localhost`);
    const unreachable = lib(shell, 'host_query nowhere "Cannot look" true', [], { FERRY_SSH_CONFIG: config });
    t.equal(unreachable.status, 1);
    t.match(unreachable.stderr, /Cannot reach host nowhere over ssh \(ssh exit 255\): /, `${shell}: ssh's failure names the host`);
  }
});

t.test('qemu_snapshot_tag: a decimal snapshot id (leading zeros are not octal); anything else refused', async (t) => {
  const tags: Array<[string, string]> = [
    ['0', 'snap-0'],
    ['7', 'snap-7'],
    ['010', 'snap-10'],
    ['08', 'snap-8'],
    ['09', 'snap-9'],
    ['000', 'snap-0'],
    ['0100', 'snap-100'],
    ['123456789012345678901234567890', 'snap-123456789012345678901234567890'],
  ];
  for (const shell of SHELLS) {
    for (const [id, tag] of tags) {
      const run = lib(shell, 'qemu_snapshot_tag "$1"', [id]);
      t.same([run.status, run.stdout, run.stderr], [0, `${tag}\n`, ''], `${shell}: ${id} -> ${tag}`);
    }
    for (const id of ['', 'abc', '-1', '1.5', ' 1', '1 ', '0x10', '+3']) {
      const run = lib(shell, 'qemu_snapshot_tag "$1" snap_id', [id]);
      t.not(run.status, 0, `${shell}: ${JSON.stringify(id)} refused`);
      t.equal(run.stdout, '', `${shell}: ${JSON.stringify(id)}: no tag printed`);
      t.match(run.stderr, `snap_id '${id}' is not a snapshot id (a whole number, 0 or more)`, `${shell}: ${JSON.stringify(id)}: says why`);
    }
  }
});

t.test('retry runs until success or COUNT tries', async (t) => {
  const dir = tmpDir(t);
  for (const shell of SHELLS) {
    const counter = join(dir, `${shell}-count`);
    writeFileSync(counter, '');
    const script = 'retry 5 0 sh -c "echo x >> \\"$1\\"; [ \\$(wc -l < \\"$1\\") -ge 3 ]" sh "$1"; echo "status=$?"';
    t.equal(lib(shell, script, [counter]).stdout, 'status=0\n');
    t.equal(readFileSync(counter, 'utf8').split('\n').filter(Boolean).length, 3, `${shell}: stopped at the first success`);
    t.equal(lib(shell, 'retry 2 0 false; echo "status=$?"').stdout, 'status=1\n');
  }
});

t.test('exclusive serializes holders of one lock and times out', async (t) => {
  const dir = tmpDir(t);
  const log = join(dir, 'log');
  const env = { FERRY_LOCK_DIR: join(dir, 'locks') };
  const script = 'exclusive image-7 10 sh -c "echo start >> \\"$1\\"; sleep 0.5; echo end >> \\"$1\\"" sh "$1"';
  const both = spawnSync('sh', ['-c', `(sh -c '. "${library}"; ${script.replaceAll("'", "'\\''")}' a "$1" &) ; sh -c '. "${library}"; ${script.replaceAll("'", "'\\''")}' a "$1"; wait; sleep 1`, 'x', log], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  t.equal(both.status, 0, both.stderr);
  t.equal(readFileSync(log, 'utf8'), 'start\nend\nstart\nend\n', 'never interleaved');
  t.ok(statSync(join(dir, 'locks', 'image-7.lock')).isFile(), 'the lock file lives in FERRY_LOCK_DIR');

  const holder = spawnSync('sh', ['-c', `. "${library}"; exclusive held 5 sh -c 'sleep 3' & sleep 0.5; . "${library}"; exclusive held 1 true; echo "status=$?"; wait`], {
    encoding: 'utf8',
    env: { ...process.env, ...env, FERRY_SCRIPT_NAME: 'test/action' },
  });
  t.match(holder.stderr, /Timed out after 1 s waiting for lock .*held\.lock/);
});

t.test('mkfs_command creates raw, qcow2, swap and filesystem images', async (t) => {
  const dir = tmpDir(t);
  const make = (name: string, format: string, size: string, fs = ''): Ran => lib('sh', 'script=$(mkfs_command "$1" "$2" "$3" "$4") && sh -c "$script"', [join(dir, name), format, size, fs]);
  t.equal(make('raw img', 'raw', '16').status, 0);
  t.equal(statSync(join(dir, 'raw img')).size, 16 * 1024 * 1024);
  t.ok(statSync(join(dir, 'raw img')).blocks < 64, 'raw images are sparse');
  t.equal(make('q.qcow2', 'qcow2', '32').status, 0);
  t.match(spawnSync('qemu-img', ['info', '--output=json', join(dir, 'q.qcow2')], { encoding: 'utf8' }).stdout, /"virtual-size": 33554432/);
  t.equal(make('swap', 'swap', '8').status, 0);
  const swapSignature = readFileSync(join(dir, 'swap')).subarray(4096 - 10, 4096).toString('latin1');
  t.equal(swapSignature, 'SWAPSPACE2', 'mkswap wrote its signature');
  t.equal(make('fs.raw', 'raw', '16', 'ext4').status, 0);
  t.equal(readFileSync(join(dir, 'fs.raw')).readUInt16LE(1080), 0xef53, 'ext4 superblock magic');
  const qfs = make('fs.qcow2', 'qcow2', '16', 'ext4');
  t.equal(qfs.status, 0, qfs.stderr);
  t.notOk(existsSync(join(dir, 'fs.qcow2.raw')), 'the raw intermediate is removed');
  t.equal(lib('sh', 'mkfs_command /x vmdk 10').status, 1, 'an unknown format is refused');
  t.match(lib('sh', 'mkfs_command /x raw 10M').stderr, /not a whole number of MB/);
  t.match(lib('sh', 'mkfs_command /x raw 10 "ext4;rm"').stderr, /not a plain name/);
});

t.test('fs_size: files, qcow2 virtual size, folders and http URLs, rounded up to MB', async (t) => {
  const dir = tmpDir(t);
  writeFileSync(join(dir, 'small'), Buffer.alloc(1));
  writeFileSync(join(dir, 'exact'), Buffer.alloc(2 * 1024 * 1024));
  spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'big.qcow2'), '3G']);
  mkdirSync(join(dir, 'folder'));
  writeFileSync(join(dir, 'folder', 'a'), Buffer.alloc(1024 * 1024 + 1));
  const server = createServer((req, res) => {
    if (req.url === '/img') {
      res.writeHead(200, { 'content-length': String(5 * 1024 * 1024 + 10) });
      res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(5 * 1024 * 1024 + 10));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const size = (what: string): string => lib('sh', 'fs_size "$1" || echo failed', [what]).stdout.trim();
  t.equal(size(join(dir, 'small')), '1');
  t.equal(size(join(dir, 'exact')), '2');
  t.equal(size(join(dir, 'big.qcow2')), '3072', 'qcow2: the virtual size');
  t.equal(size(join(dir, 'folder')), '2');
  // The server lives in this process, so the URL cases must not block it with spawnSync.
  const sizeAsync = async (what: string): Promise<string> =>
    (await promisify(execFile)('sh', ['-c', `. "${library}"; fs_size "$1" || echo failed`, 'x', what], { encoding: 'utf8' })).stdout.trim();
  t.equal(await sizeAsync(`http://127.0.0.1:${port}/img`), '6');
  t.equal(await sizeAsync(`http://127.0.0.1:${port}/missing`), 'failed');
  t.equal(size(join(dir, 'nope')), 'failed');
});

t.test('inside_dir guards paths, following .. and links', async (t) => {
  const dir = tmpDir(t);
  const check = (path: string, base: string): string => lib('sh', 'if inside_dir "$1" "$2"; then echo in; else echo out; fi', [path, base]).stdout.trim();
  t.equal(check(join(dir, 'ds/1/abc'), join(dir, 'ds')), 'in');
  t.equal(check(join(dir, 'ds/../etc'), join(dir, 'ds')), 'out');
  t.equal(check(join(dir, 'ds'), join(dir, 'ds')), 'out', 'the folder itself is not inside');
  t.equal(check(join(dir, 'ds2/x'), join(dir, 'ds')), 'out', 'a sibling with the same prefix is not inside');
});

t.test('through the runner: a driver sourcing the library gets log records and the dump environment', async (t) => {
  const dir = tmpDir(t);
  const remotes = join(dir, 'remotes');
  mkdirSync(join(remotes, 'datastore', 'lib'), { recursive: true });
  writeFileSync(join(remotes, 'scripts_common.sh'), readFileSync(library));
  const stat = join(remotes, 'datastore', 'lib', 'stat');
  writeFileSync(
    stat,
    '#!/bin/sh\nset -eu\n. "$(dirname "$0")/../../scripts_common.sh"\nlog_info "sizing $FERRY_IMAGE_PATH in $FERRY_DS_BASE_PATH"\nfs_size "$FERRY_IMAGE_PATH"\n',
  );
  chmodSync(stat, 0o755);
  writeFileSync(join(dir, 'image'), Buffer.alloc(3 * 1024 * 1024));
  const runner = new Runner({ remotes });
  const result = await runner.run({
    kind: 'datastore',
    action: 'stat',
    dump: { IMAGE: { ID: 4, PATH: join(dir, 'image') }, DATASTORE: { ID: 1, DS_MAD: 'lib', BASE_PATH: dir } },
    id: 4,
  });
  t.equal(result.result, 3);
  t.same(result.logs, [{ level: 'info', message: `lib/stat: sizing ${join(dir, 'image')} in ${dir}` }]);
});

t.test('multi-line log messages stay log records, line by line', async (t) => {
  for (const shell of SHELLS) {
    const run = lib(shell, 'log_info "first\nsecond"; log_error "x|y&z\\\\w"');
    t.equal(run.stderr, 'INFO: test/action: first\nINFO: test/action: second\nERROR: test/action: x|y&z\\w\n', shell);
  }
});

t.test('inside_dir with / as the folder', async (t) => {
  t.equal(lib('sh', 'inside_dir /var/x / && echo in').stdout, 'in\n');
  t.equal(lib('sh', 'inside_dir / / || echo out').stdout, 'out\n');
});
