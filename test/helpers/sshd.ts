/**
 * Real ssh hosts for driver tests: one Debian sshd per host on a loopback
 * port, each in its own mount namespace where the shared mount point path
 * (the same on every host and on the front-end) is a bind mount of that
 * host's own folder, as separate machines each have their own
 * /var/lib/one/datastores. The test process is the front-end and sees its
 * own folder at that path; it reads what a host holds through the host's
 * bind source folder (`lab.hostDir(name)`).
 *
 * Needs root (sshd logs in as root; mount namespaces need CAP_SYS_ADMIN),
 * /usr/sbin/sshd, ssh, ssh-keygen, unshare and mount. When one is missing
 * startSshHosts rejects with a message naming what to install or enable;
 * tests must fail on it, never skip.
 *
 *     const lab = await startSshHosts(['host01', 'host02']);
 *     t.teardown(() => lab.stop());
 *     const env = hostsEnv({ frontend: 'fe', hosts: lab.hosts }, lab.root);
 *     const runner = new Runner({ remotes, env });
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import type t from 'tap';
import type { HostConfig } from '../../src/config/hosts.js';

export const SSHD = '/usr/sbin/sshd';

export interface SshLab {
  /** Per-run folder, /tmp/ferry-sshd-<random>: keys, configs, host folders. */
  root: string;
  /** The path every host (and the front-end) has, each with its own content: <root>/datastores. */
  mountPoint: string;
  /** ferry.yaml-shaped `hosts:` for every started host. */
  hosts: Record<string, HostConfig>;
  /** The folder behind `mountPoint` on host `name`, as the front-end sees it. */
  hostDir(name: string): string;
  /** ferry.yaml settings for a host on a loopback port nothing listens on. */
  deadHost(): Promise<HostConfig>;
  /** Runs `ssh host command...` with the lab's keys (for tests that act on a host directly). */
  ssh(name: string, ...command: string[]): { status: number | null; stdout: string; stderr: string };
  /** What each sshd logged so far (for failure messages). */
  logs(name: string): string;
  /** Kills the sshd processes and removes the per-run folder. */
  stop(): Promise<void>;
}

export interface LabOptions {
  /** Seconds to wait for each sshd to accept ssh. Default 15. */
  readySec?: number;
}

/** A tool the lab needs, or why the machine cannot run it; undefined when all is there. */
export function sshLabProblem(): string | undefined {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('run the tests as root (sshd logs in as root and mount namespaces need CAP_SYS_ADMIN)');
  const executable = (path: string): boolean => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' }).status === 0;
  if (!executable(SSHD)) problems.push(`${SSHD} is missing: apt-get install openssh-server`);
  for (const [cmd, pkg] of [['ssh', 'openssh-client'], ['ssh-keygen', 'openssh-client'], ['unshare', 'util-linux'], ['setpriv', 'util-linux'], ['mount', 'mount']] as const) {
    if (!onPath(cmd)) problems.push(`${cmd} is missing: apt-get install ${pkg}`);
  }
  if (problems.length === 0) {
    const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'mount', '--bind', '/', '/'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      problems.push(
        `mount namespaces are not permitted here (unshare -m: ${(probe.stderr || probe.stdout).trim() || `status ${probe.status}`}); ` +
          'run as root with CAP_SYS_ADMIN (e.g. docker run --privileged, or --cap-add SYS_ADMIN --security-opt apparmor=unconfined)',
      );
    }
  }
  return problems.length > 0 ? `the ssh test hosts cannot start: ${problems.join('; ')}` : undefined;
}

/** A loopback port free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[]): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${cmd} could not run: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (status ${result.status}): ${result.stderr.trim()}`);
  return result.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Daemon {
  name: string;
  port: number;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
  done: boolean;
}

/** Starts one sshd per name (host01, host02 …) and waits until each accepts ssh. */
export async function startSshHosts(names: readonly string[], options: LabOptions = {}): Promise<SshLab> {
  const problem = sshLabProblem();
  if (problem) throw new Error(problem);
  // sshd's privilege separation folder.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const root = join('/tmp', `ferry-sshd-${randomBytes(6).toString('hex')}`);
  const mountPoint = join(root, 'datastores');
  const keys = join(root, 'keys');
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  mkdirSync(mountPoint, { recursive: true });
  const daemons: Daemon[] = [];
  const stopAll = async (): Promise<void> => {
    for (const daemon of daemons) if (!daemon.done) daemon.child.kill('SIGTERM');
    await Promise.all(
      daemons.map((daemon) =>
        Promise.race([daemon.exited, sleep(3000).then(() => (daemon.done ? undefined : void daemon.child.kill('SIGKILL')))]),
      ),
    );
  };
  const onExit = (): void => {
    for (const daemon of daemons) if (!daemon.done) daemon.child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  try {
    const hostKey = join(keys, 'ssh_host_ed25519_key');
    const clientKey = join(keys, 'id_ed25519');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry test host', '-f', hostKey]);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry test client', '-f', clientKey]);
    const authorizedKeys = join(keys, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o600 });
    const hostPublic = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHosts = join(keys, 'known_hosts');
    const hosts: Record<string, HostConfig> = {};
    const settingsFor = (port: number): HostConfig => ({
      address: '127.0.0.1',
      port,
      user: 'root',
      identity: clientKey,
      known_hosts: knownHosts,
      options: { StrictHostKeyChecking: 'yes', ConnectTimeout: 5 },
    });

    for (const name of names) {
      const hostDir = join(root, 'hosts', name);
      mkdirSync(hostDir, { recursive: true });
      let started: Daemon | undefined;
      for (let attempt = 1; !started; attempt++) {
        const port = await freePort();
        const config = join(root, `sshd_config.${name}`);
        writeFileSync(
          config,
          [
            `Port ${port}`,
            'ListenAddress 127.0.0.1',
            `HostKey ${hostKey}`,
            `PidFile ${join(root, `sshd.${name}.pid`)}`,
            `AuthorizedKeysFile ${authorizedKeys}`,
            'PermitRootLogin prohibit-password',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'StrictModes no',
            'UsePAM no',
            'PrintMotd no',
            'UseDNS no',
            'MaxStartups 100',
            // Plain curve25519: the default post-quantum exchange costs ~0.2 s of CPU per connection on a small machine.
            'KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org',
            'Subsystem sftp internal-sftp',
            '',
          ].join('\n'),
        );
        // The host's folder over the shared path, in a namespace of its own that dies with sshd;
        // setpriv --pdeathsig: sshd dies with this process even if it is killed before teardown.
        const child = spawn(
          'unshare',
          ['-m', '--propagation', 'private', 'setpriv', '--pdeathsig', 'KILL', 'sh', '-c', 'mount --bind "$1" "$2" && exec "$3" -D -e -f "$4"', 'sh', hostDir, mountPoint, SSHD, config],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        const daemon: Daemon = { name, port, child, log: '', done: false, exited: Promise.resolve() };
        daemon.exited = new Promise((resolve) => {
          child.once('close', () => {
            daemon.done = true;
            resolve();
          });
          child.once('error', (error) => {
            daemon.log += `\n${error.message}`;
            daemon.done = true;
            resolve();
          });
        });
        child.stderr?.setEncoding('utf8');
        child.stderr?.on('data', (chunk: string) => {
          daemon.log = (daemon.log + chunk).slice(-20000);
        });
        daemons.push(daemon);
        hosts[name] = settingsFor(port);
        writeKnownHosts(knownHosts, hosts, hostPublic);
        const ready = await waitForSsh(daemon, hosts[name] as HostConfig, (options.readySec ?? 15) * 1000);
        if (ready === true) {
          started = daemon;
        } else if (attempt < 3 && /Address already in use/.test(daemon.log)) {
          continue;
        } else {
          throw new Error(`sshd for ${name} on 127.0.0.1:${port} did not accept ssh: ${ready}; sshd said: ${daemon.log.trim().slice(-2000)}`);
        }
      }
    }

    const lab: SshLab = {
      root,
      mountPoint,
      hosts,
      hostDir: (name) => join(root, 'hosts', name),
      deadHost: async () => settingsFor(await freePort()),
      ssh: (name, ...command) => {
        const host = hosts[name];
        if (!host) throw new Error(`no such lab host ${name}`);
        const result = spawnSync('ssh', [...sshArgs(host), '--', host.address as string, ...command], { encoding: 'utf8' });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
      },
      logs: (name) => daemons.find((daemon) => daemon.name === name)?.log ?? '',
      stop: async () => {
        await stopAll();
        process.removeListener('exit', onExit);
        rmSync(root, { recursive: true, force: true });
      },
    };
    return lab;
  } catch (error) {
    await stopAll();
    process.removeListener('exit', onExit);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

/** ssh options reaching `host` without any config file. */
function sshArgs(host: HostConfig): string[] {
  return [
    '-F', '/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${host.known_hosts}`,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'ConnectTimeout=5',
    '-i', host.identity as string,
    '-p', String(host.port),
    '-l', host.user ?? 'root',
  ];
}

function writeKnownHosts(file: string, hosts: Record<string, HostConfig>, hostPublic: string): void {
  const lines = Object.values(hosts).map((host) => `[${host.address}]:${host.port} ${hostPublic}`);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** Retries `ssh host true` until it works (true), sshd exits, or time runs out (the reason). */
async function waitForSsh(daemon: Daemon, host: HostConfig, ms: number): Promise<true | string> {
  const end = Date.now() + ms;
  let last = '';
  for (;;) {
    if (daemon.done) return `sshd exited (status ${daemon.child.exitCode ?? daemon.child.signalCode})`;
    const probe = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn('ssh', [...sshArgs(host), '--', host.address as string, 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('close', (status) => resolve({ status, stderr }));
      child.once('error', (error) => resolve({ status: -1, stderr: error.message }));
    });
    if (probe.status === 0) return true;
    last = probe.stderr.trim();
    if (Date.now() >= end) return `ssh kept failing: ${last}`;
    await sleep(100);
  }
}

/**
 * The lab for a whole test file: started, stopped on teardown, or the file
 * fails saying what to install or enable (never a silent skip).
 */
export async function sshLabFor(tap: typeof t, names: string[]): Promise<SshLab> {
  try {
    const lab = await startSshHosts(names);
    tap.teardown(() => lab.stop());
    return lab;
  } catch (error) {
    tap.fail((error as Error).message);
    tap.end();
    process.exit(1);
  }
}

/** A lab laid out as the tm/ssh tests use it: system datastore 0 and image datastore 1 under the shared mount point, a scratch folder. */
export interface TmLab {
  lab: SshLab;
  /** System datastore 0, as every host names it. */
  DS: string;
  /** Image datastore 1 (images only on the front-end). */
  IMAGES: string;
  scratch: string;
  /** Where `path` (as every host names it) lives on `host`, seen from the front-end. */
  at(host: 'fe' | 'host01' | 'host02', path: string): string;
}

export async function tmLabFor(tap: typeof t): Promise<TmLab> {
  const lab = await sshLabFor(tap, ['host01', 'host02']);
  const IMAGES = join(lab.mountPoint, '1');
  mkdirSync(IMAGES, { recursive: true });
  const scratch = join(lab.root, 'scratch');
  mkdirSync(scratch);
  const at = (host: 'fe' | 'host01' | 'host02', path: string): string => (host === 'fe' ? path : join(lab.hostDir(host), relative(lab.mountPoint, path)));
  return { lab, DS: join(lab.mountPoint, '0'), IMAGES, scratch, at };
}
