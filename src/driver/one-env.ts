/**
 * What OpenNebula's own scripts expect around them, given to every
 * opennebula-convention script (convention.ts):
 *  - ONE_LOCATION: the install root when the remotes folder is one's
 *    var/remotes (`ferry drivers import` makes that layout), so
 *    `$ONE_LOCATION/lib/sh/scripts_common.sh` and
 *    `$ONE_LOCATION/var/remotes/tm/tm_common.sh` resolve; an ONE_LOCATION
 *    ferry was started with wins;
 *  - PATH starting with the root's bin/, where ferry's onevm, onedatastore
 *    and onehost answer from the catalog, and RUBYLIB with its lib/ruby;
 *  - SSH (and SCP, SSH_FWD) with ferry's ssh_config, so the `hosts:` of
 *    ferry.yaml reach OpenNebula's `$SSH host ...` as they reach ferry's own
 *    drivers (a bare `ssh` in a script cannot be reached: scripts_common.sh
 *    puts /usr/bin before any PATH ferry gives);
 *  - BASH_ENV: scripts/opennebula/load-guard.sh, which makes a helper that
 *    cannot be sourced stop the script (exit 97) instead of letting it exit 0
 *    having done nothing.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { packageRoot } from '../config/paths.js';

/** The OpenNebula install root whose var/remotes is this (real) remotes folder, if it is one. */
export function oneRootOf(remotesReal: string): string | undefined {
  if (basename(remotesReal) !== 'remotes' || basename(dirname(remotesReal)) !== 'var') return undefined;
  const root = dirname(dirname(remotesReal));
  return existsSync(join(root, 'lib', 'sh', 'scripts_common.sh')) ? root : undefined;
}

export const LOAD_GUARD = join('scripts', 'opennebula', 'load-guard.sh');

/**
 * The entries added for an opennebula-convention script, on top of the
 * runner's fixed environment `fixed`; `inherited` is ferry's own
 * environment, whose settings win.
 */
export function oneEnv(root: string | undefined, fixed: Readonly<Record<string, string>>, inherited: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  const given = (name: string): boolean => inherited[name] !== undefined || fixed[name] !== undefined;
  if (root !== undefined && !given('ONE_LOCATION')) env.ONE_LOCATION = root;
  const location = inherited.ONE_LOCATION ?? fixed.ONE_LOCATION ?? root;
  const bin = location === undefined ? undefined : join(location, 'bin');
  if (bin !== undefined && statSync(bin, { throwIfNoEntry: false })?.isDirectory()) {
    env.PATH = [bin, fixed.PATH ?? inherited.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(':');
  }
  // OpenNebula's Ruby helpers (xpath.rb …) `require 'load_opennebula_paths'` before they add lib/ruby to their load path.
  const ruby = location === undefined ? undefined : join(location, 'lib', 'ruby');
  if (ruby !== undefined && statSync(ruby, { throwIfNoEntry: false })?.isDirectory()) {
    const before = fixed.RUBYLIB ?? inherited.RUBYLIB;
    env.RUBYLIB = before ? `${ruby}:${before}` : ruby;
  }
  // OpenNebula's scripts word-split $SSH, so a path with blanks cannot go in it: such an ssh_config is left out.
  const sshConfig = fixed.FERRY_SSH_CONFIG;
  if (sshConfig !== undefined && !/\s/.test(sshConfig)) {
    if (!given('SSH')) env.SSH = `ssh -F ${sshConfig}`;
    if (!given('SCP')) env.SCP = `scp -F ${sshConfig}`;
    // scripts_common.sh's ssh_forward swaps $SSH for $SSH_FWD (agent forwarding for host-to-host copies).
    if (!given('SSH_FWD')) env.SSH_FWD = `ssh -F ${sshConfig} -o ForwardAgent=yes -o ControlMaster=no -o ControlPath=none`;
  }
  if (!given('BASH_ENV')) env.BASH_ENV = join(packageRoot(), LOAD_GUARD);
  return env;
}
