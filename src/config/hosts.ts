/**
 * Hosts from ferry.yaml: which names run locally and how to reach the others
 * over ssh. The ssh options are rendered into an ssh_config file that the
 * helper library passes with -F; no password is ever put anywhere.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../errors.js';

export interface HostConfig {
  /** `ssh` (default) or `local`. */
  transport?: 'ssh' | 'local';
  /** Address to connect to (ssh HostName); default the host's name. */
  address?: string;
  port?: number;
  user?: string;
  /** Private key file (ssh IdentityFile). */
  identity?: string;
  /** known_hosts file (ssh UserKnownHostsFile). */
  known_hosts?: string;
  /** Extra ssh_config options, e.g. { StrictHostKeyChecking: "yes", ConnectTimeout: 5 }. */
  options?: Record<string, string | number>;
}

export interface HostsSettings {
  /** This machine's name in host:path arguments (the spec's `fe`); default its host name. */
  frontend?: string;
  hosts?: Record<string, HostConfig>;
}

const TOKEN = /^[A-Za-z0-9_.@%+:\-[\]]+$/;
/** Option values may also be paths (ControlPath ~/.ssh/cm-%C). */
const OPTION_VALUE = /^[A-Za-z0-9_.@%+:\-[\]/~,=]+$/;
/** Defaults after every host's own settings (ssh takes the first value it finds): never hang on a silent host. */
const DEFAULTS = ['Host *', '    ConnectTimeout 10', '    ServerAliveInterval 15', '    ServerAliveCountMax 4'].join('\n');
const OPTION = /^[A-Za-z][A-Za-z0-9]*$/;

function checkToken(value: string, what: string): string {
  if (!TOKEN.test(value)) {
    throw new FerryError('E_CONFIG', `${what} ${JSON.stringify(value)} has characters ssh_config cannot take`, {
      hint: 'use a plain host name, address, user name or option value (letters, digits, . _ - @ : %)',
    });
  }
  return value;
}

function quotePath(value: string, what: string): string {
  if (/["\n\r\0]/.test(value)) throw new FerryError('E_CONFIG', `${what} ${JSON.stringify(value)} holds a quote or a line break`, { hint: 'rename the file' });
  return `"${value}"`;
}

/** The ssh_config text for the ssh hosts. */
export function renderSshConfig(hosts: Record<string, HostConfig>): string {
  const blocks: string[] = ['# Written by ferry from ferry.yaml hosts:. Do not edit: it is rewritten.'];
  for (const [name, host] of Object.entries(hosts)) {
    if ((host.transport ?? 'ssh') !== 'ssh') continue;
    const lines = [`Host ${checkToken(name, 'host name')}`, `    HostName ${checkToken(host.address ?? name, `hosts.${name}.address`)}`];
    if (host.port !== undefined) lines.push(`    Port ${host.port}`);
    if (host.user !== undefined) lines.push(`    User ${checkToken(host.user, `hosts.${name}.user`)}`);
    if (host.identity !== undefined) lines.push(`    IdentityFile ${quotePath(host.identity, `hosts.${name}.identity`)}`, '    IdentitiesOnly yes');
    if (host.known_hosts !== undefined) lines.push(`    UserKnownHostsFile ${quotePath(host.known_hosts, `hosts.${name}.known_hosts`)}`);
    lines.push('    BatchMode yes', '    PasswordAuthentication no', '    KbdInteractiveAuthentication no');
    for (const [option, value] of Object.entries(host.options ?? {})) {
      if (!OPTION.test(option)) throw new FerryError('E_CONFIG', `hosts.${name}.options: ${JSON.stringify(option)} is not an ssh option name`, { hint: 'see man ssh_config' });
      if (/^(ProxyCommand|LocalCommand|PermitLocalCommand|KnownHostsCommand|Match|Include)$/i.test(option)) {
        throw new FerryError('E_CONFIG', `hosts.${name}.options: ${option} runs commands and is not allowed`, { hint: 'set it in your own ~/.ssh/config if you need it' });
      }
      const text = String(value);
      if (!OPTION_VALUE.test(text)) {
        throw new FerryError('E_CONFIG', `hosts.${name}.options.${option} ${JSON.stringify(text)} has characters ssh_config cannot take`, {
          hint: 'option values are single words or paths, without spaces or quotes',
        });
      }
      lines.push(`    ${option} ${text}`);
    }
    blocks.push(lines.join('\n'));
  }
  blocks.push(DEFAULTS);
  return `${blocks.join('\n\n')}\n`;
}

/** Names that run locally: localhost, this machine, the front-end name and `transport: local` hosts. */
export function localHosts(settings: HostsSettings): string[] {
  const names = new Set(['localhost', hostname()]);
  if (settings.frontend) names.add(settings.frontend);
  for (const [name, host] of Object.entries(settings.hosts ?? {})) if (host.transport === 'local') names.add(name);
  return [...names];
}

/** Writes the ssh_config (mode 0600, under a private folder) once per content; returns its path. */
export function writeSshConfig(text: string, dir = join(tmpdir(), `ferry-${process.getuid?.() ?? 'user'}`)): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `ssh_config-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== text) writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** The environment the helper library reads for hosts: FERRY_LOCAL_HOSTS, and FERRY_SSH_CONFIG when any host uses ssh. */
export function hostsEnv(settings: HostsSettings, dir?: string): Record<string, string> {
  const env: Record<string, string> = { FERRY_LOCAL_HOSTS: localHosts(settings).join(' ') };
  const hosts = settings.hosts ?? {};
  if (Object.values(hosts).some((host) => (host.transport ?? 'ssh') === 'ssh')) {
    env.FERRY_SSH_CONFIG = writeSshConfig(renderSshConfig(hosts), dir);
  }
  return env;
}
