import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hostsEnv, localHosts, renderSshConfig, writeSshConfig } from '../../src/config/hosts.js';
import { tmpDir } from '../helpers/fixtures.js';

t.test('renderSshConfig: one block per ssh host, never a password, batch mode', async (t) => {
  const text = renderSshConfig({
    host01: { address: '127.0.0.1', port: 2201, user: 'oneadmin', identity: '/keys/id ed25519', known_hosts: '/keys/known_hosts', options: { ConnectTimeout: 5, StrictHostKeyChecking: 'yes' } },
    host02: {},
    fe: { transport: 'local' },
  });
  t.match(text, /^Host host01\n    HostName 127\.0\.0\.1\n    Port 2201\n    User oneadmin\n    IdentityFile "\/keys\/id ed25519"\n    IdentitiesOnly yes\n    UserKnownHostsFile "\/keys\/known_hosts"\n    BatchMode yes\n    PasswordAuthentication no\n/m);
  t.match(text, /ConnectTimeout 5\n    StrictHostKeyChecking yes/);
  t.match(text, /^Host host02\n    HostName host02\n/m, 'the address defaults to the name');
  t.notMatch(text, /Host fe/, 'local hosts get no block');
  t.match(text, /\n\nHost \*\n    ConnectTimeout 10\n    ServerAliveInterval 15\n    ServerAliveCountMax 4\n$/, 'defaults come last, so every host\'s own options win');
  t.match(renderSshConfig({ h: { options: { ControlPath: '~/.ssh/cm-%C' } } }), /ControlPath ~\/\.ssh\/cm-%C/, 'option values may be paths');
});

t.test('renderSshConfig refuses values that would inject options or run commands', async (t) => {
  const refuse = (hosts: Parameters<typeof renderSshConfig>[0], what: RegExp): void => {
    try {
      renderSshConfig(hosts);
      t.fail('accepted');
    } catch (error) {
      t.equal((error as { code?: string }).code, 'E_CONFIG');
      t.match((error as Error).message, what);
    }
  };
  refuse({ 'bad host': {} }, /host name/);
  refuse({ h: { address: '1.2.3.4\n    ProxyCommand evil' } }, /address/);
  refuse({ h: { user: 'a b' } }, /user/);
  refuse({ h: { identity: '/k"ey' } }, /identity/);
  refuse({ h: { options: { ProxyCommand: 'nc x' } } }, /runs commands/);
  refuse({ h: { options: { 'Bad Option': 'x' } } }, /not an ssh option name/);
  refuse({ h: { options: { Ciphers: 'a b' } } }, /options\.Ciphers/);
});

t.test('localHosts and hostsEnv', async (t) => {
  t.same(localHosts({}), ['localhost', hostname()]);
  t.same(localHosts({ frontend: 'fe', hosts: { n1: { transport: 'local' }, n2: {} } }), ['localhost', hostname(), 'fe', 'n1']);
  const dir = tmpDir(t);
  const onlyLocal = hostsEnv({ frontend: 'fe' }, dir);
  t.same(Object.keys(onlyLocal), ['FERRY_LOCAL_HOSTS'], 'no ssh_config without ssh hosts');
  const env = hostsEnv({ hosts: { host01: { port: 22 } } }, dir);
  t.equal(readFileSync(env.FERRY_SSH_CONFIG as string, 'utf8'), renderSshConfig({ host01: { port: 22 } }));
  t.equal(statSync(env.FERRY_SSH_CONFIG as string).mode & 0o777, 0o600, 'the file is private');
  t.equal(writeSshConfig('same', dir), writeSshConfig('same', dir), 'one file per content');
  t.not(writeSshConfig('one', dir), writeSshConfig('two', dir));
  t.equal(statSync(join(dir)).isDirectory(), true);
});
