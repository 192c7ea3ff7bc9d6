/** --listen parsed, loopback told apart, the token file's checks, and no listening beyond loopback without a token. */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkListen, isLoopback, parseListen, readTokenFile } from '../../src/service/listen.js';
import { tmpDir } from '../helpers/fixtures.js';

t.test('parseListen', async (t) => {
  t.same(parseListen('9469'), { host: '127.0.0.1', port: 9469 }, 'a port: on loopback');
  t.same(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
  t.same(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  t.same(parseListen('monitor.example.org:9469'), { host: 'monitor.example.org', port: 9469 });
  t.same(parseListen('[::1]:9469'), { host: '::1', port: 9469 });
  t.same(parseListen('[fe80::1]:1'), { host: 'fe80::1', port: 1 });
  t.throws(() => parseListen('::1:9469'), { code: 'E_USAGE', hint: /\[::1\]:9469/ }, 'a bare IPv6 address: use brackets');
  t.throws(() => parseListen('host:99999'), { code: 'E_USAGE', message: /port "99999" is not a number from 0 to 65535/ });
  t.throws(() => parseListen('host:'), { code: 'E_USAGE', message: /port/ });
  t.throws(() => parseListen('70000'), { code: 'E_USAGE', message: /port/ });
  t.throws(() => parseListen(':80'), { code: 'E_USAGE' });
  t.throws(() => parseListen('bad host:80'), { code: 'E_USAGE', message: /not a host name/ });
  t.throws(() => parseListen('[nope]:80'), { code: 'E_USAGE', message: /not an IPv6 address/ });
  t.throws(() => parseListen(''), { code: 'E_USAGE' });
});

t.test('isLoopback', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', 'a.localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) t.ok(isLoopback(host), host);
  for (const host of ['0.0.0.0', '::', '192.168.1.5', '10.0.0.1', 'example.org', 'localhost.example.org', '128.0.0.1', '::ffff:10.0.0.1', '::2']) t.notOk(isLoopback(host), host);
});

t.test('checkListen: beyond loopback only with a token', async (t) => {
  t.doesNotThrow(() => checkListen('127.0.0.1', undefined));
  t.doesNotThrow(() => checkListen('::1', undefined));
  t.doesNotThrow(() => checkListen('0.0.0.0', 'tok'));
  t.throws(() => checkListen('0.0.0.0', undefined), { code: 'E_CONFIG', message: /will not listen on 0\.0\.0\.0 without a token/, hint: /--token-file PATH.*serve: \{token_file: PATH\}/ });
  t.throws(() => checkListen('192.0.2.1', undefined), { code: 'E_CONFIG' });
});

t.test('readTokenFile', async (t) => {
  const dir = tmpDir(t, 'ferry-token-');
  const file = (name: string, text: string, mode: number): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };
  t.equal(readTokenFile(file('ok', 'abc123-XYZ\n', 0o600)), 'abc123-XYZ', 'a trailing newline dropped');
  t.equal(readTokenFile(file('crlf', 'abc\r\n', 0o400)), 'abc', 'and a CRLF; 0400 is fine');
  t.equal(readTokenFile(file('bare', 'abc', 0o600)), 'abc');
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602, 0o620, 0o666]) {
    const path = file(`m${mode.toString(8)}`, 'abc\n', mode);
    t.throws(() => readTokenFile(path), { code: 'E_CONFIG', message: new RegExp(`${path}.*mode 0${mode.toString(8)}`), hint: `chmod 600 ${path}` }, `mode ${mode.toString(8)} refused`);
  }
  t.throws(() => readTokenFile(file('empty', '', 0o600)), { code: 'E_CONFIG', message: /is empty/ });
  t.throws(() => readTokenFile(file('newline', '\n', 0o600)), { code: 'E_CONFIG', message: /is empty/ });
  t.throws(() => readTokenFile(file('two', 'abc\ndef\n', 0o600)), { code: 'E_CONFIG', message: /not one line/ });
  t.throws(() => readTokenFile(file('space', 'a b\n', 0o600)), { code: 'E_CONFIG', message: /not one line/ });
  t.throws(() => readTokenFile(join(dir, 'missing')), { code: 'E_CONFIG', message: /missing: it does not exist/, hint: /umask 077/ });
  const sub = join(dir, 'folder');
  mkdirSync(sub, { mode: 0o700 });
  t.throws(() => readTokenFile(sub), { code: 'E_CONFIG', message: /not a regular file/ });
  const link = join(dir, 'link');
  symlinkSync(file('target', 'tok\n', 0o644), link);
  t.throws(() => readTokenFile(link), { code: 'E_CONFIG', message: /mode 0644/ }, 'a link: the file it leads to is checked');
  const error = (() => {
    try {
      readTokenFile(file('secret', 'S3CR3T-token\n', 0o644));
    } catch (caught) {
      return caught as Error & { hint?: string };
    }
    return undefined;
  })();
  t.notOk(`${error?.message} ${error?.hint}`.includes('S3CR3T'), 'a refusal never shows the token');
});
