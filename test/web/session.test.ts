/** Dashboard sessions: a cookie that is not the token, lapses, is tied to one service start, and resists tampering. */
import t from 'tap';
import { cookieValue, safeNext, Sessions, SESSION_COOKIE, SESSION_HOURS } from '../../src/web/session.js';

const TOKEN = 'tok-7b1e9c0d2a';

t.test('a session cookie is valid until it lapses, on this service only', async (t) => {
  let now = 1_800_000_000_000;
  const sessions = new Sessions(TOKEN, () => now);
  const cookie = sessions.setCookie();
  t.match(cookie, new RegExp(`^${SESSION_COOKIE}=\\d+\\.[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_HOURS * 3600}$`));
  t.notOk(cookie.includes(TOKEN), 'the cookie does not carry the token');
  const header = `theme=dark; ${cookie.split(';')[0]}; other=1`;
  t.ok(sessions.valid(header), 'valid among other cookies');
  t.notOk(new Sessions(TOKEN, () => now).valid(header), 'another start of the service (same token) does not take it');
  now += SESSION_HOURS * 3_600_000 - 1;
  t.ok(sessions.valid(header), 'valid just before it lapses');
  now += 1;
  t.notOk(sessions.valid(header), 'lapsed');
});

t.test('tampered, foreign or missing cookies are refused', async (t) => {
  const now = 1_800_000_000_000;
  const sessions = new Sessions(TOKEN, () => now);
  const value = sessions.issue();
  const [expires, mac] = value.split('.') as [string, string];
  const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
  for (const [what, header] of [
    ['none', undefined],
    ['empty', ''],
    ['another name', `session=${value}`],
    ['a later expiry with the old mac', `${SESSION_COOKIE}=${Number(expires) + 1000}.${mac}`],
    ['one character of the mac changed', `${SESSION_COOKIE}=${expires}.${flipped}`],
    ['the token itself', `${SESSION_COOKIE}=${TOKEN}`],
    ['garbage', `${SESSION_COOKIE}=..`],
  ] as const) t.notOk(sessions.valid(header), what);
  t.ok(sessions.tokenMatches(TOKEN));
  for (const wrong of ['', `${TOKEN}x`, TOKEN.slice(1), TOKEN.toUpperCase()]) t.notOk(sessions.tokenMatches(wrong), `not the token: ${JSON.stringify(wrong)}`);
});

t.test('after signing in, only a path of this server', async (t) => {
  for (const [next, want] of [
    ['/vms/3?x=1', '/vms/3?x=1'],
    ['/', '/'],
    ['//evil.example/x', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example/', '/'],
    ['javascript:alert(1)', '/'],
    ['/login', '/'],
    ['/a b', '/'],
    [null, '/'],
    [undefined, '/'],
  ] as const) t.equal(safeNext(next), want, String(next));
  t.equal(cookieValue('a=1; b = 2 ;c=3=4', 'b'), '2');
  t.equal(cookieValue('a=1; c=3=4', 'c'), '3=4');
  t.equal(cookieValue(undefined, 'a'), undefined);
});
