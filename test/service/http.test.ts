/** The service's HTTP server on 127.0.0.1: routes, headers, the bearer token, refusals, no secret, a clean close. */
import { request as httpRequest, Agent } from 'node:http';
import t from 'tap';
import { createLogger } from '../../src/log/logger.js';
import { API_ROUTES } from '../../src/service/api.js';
import { startHttp, type HttpOptions } from '../../src/service/http.js';
import { createMetrics } from '../../src/service/metrics.js';
import { action, SECRET_MARK, serviceWorld, type ServiceWorld } from '../helpers/service-world.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with node:http (a Host header of our choosing; fetch would not send one). */
function request(url: string, options: { method?: string; headers?: Record<string, string>; agent?: Agent; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, ...(options.agent ? { agent: options.agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A server on a free loopback port over a filled catalog; its log lines kept; closed on teardown. */
async function serve(t: Parameters<typeof serviceWorld>[0], extra: Partial<HttpOptions> = {}): Promise<{ world: ServiceWorld; url: string; logs: string[]; close(): Promise<void> }> {
  const world = serviceWorld(t);
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (line: string) => logs.push(line) } });
  const server = await startHttp({ host: '127.0.0.1', port: 0, catalog: world.catalog, metrics: createMetrics(world.catalog), logger, version: '1.2.3', ...extra });
  t.teardown(() => server.close());
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  return { world, url: server.url, logs, close: () => server.close() };
}

/** Every route with each of the world's records in it, and /metrics. */
function everyPath(world: ServiceWorld): string[] {
  const refs: Record<string, string[]> = { datastores: ['images', 'system', String(world.ids.spare)], images: ['debian', 'broken'], vms: ['web', 'db'], hosts: ['node1', 'node2'], alerts: ['1', '2'] };
  return [
    '/metrics',
    ...API_ROUTES.flatMap((route) => {
      const kind = /^\/api\/v1\/([a-z]+)\/:/.exec(route)?.[1];
      return kind === undefined ? [route] : refs[kind]!.map((ref) => route.replace(/:[a-z]+/, ref));
    }),
  ];
}

t.test('routes, headers and refusals without a token', async (t) => {
  const { world, url } = await serve(t);
  world.catalog.record(action(`datastore:${world.ids.images}`, 'datastore', 'fs', 'monitor', 40));
  const metrics = await request(`${url}/metrics`);
  t.equal(metrics.status, 200);
  t.match(metrics.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(metrics.body, /^ferry_datastore_total_bytes\{datastore_id="\d+",datastore="images"\} 1048576000$/m);
  t.equal(metrics.headers['cache-control'], 'no-store');

  for (const path of everyPath(world)) {
    const reply = await request(`${url}${path}`);
    t.equal(reply.status, 200, `${path}: 200`);
    t.equal(reply.headers['cache-control'], 'no-store', `${path}: no-store`);
    t.equal(reply.headers['x-content-type-options'], 'nosniff', `${path}: nosniff`);
    if (path !== '/metrics') {
      t.equal(reply.headers['content-type'], 'application/json; charset=utf-8', `${path}: JSON`);
      t.equal(JSON.parse(reply.body).ok, true);
    }
    t.notOk(reply.body.includes(SECRET_MARK), `${path}: no secret`);
  }
  const health = JSON.parse((await request(`${url}/api/v1/health`)).body);
  t.same(health, { ok: true, result: { version: '1.2.3', catalog: world.catalog.path } });

  const missing = await request(`${url}/nothing`);
  t.equal(missing.status, 404);
  t.equal(missing.headers['content-type'], 'application/json; charset=utf-8');
  t.match(JSON.parse(missing.body), { ok: false, error: { code: 'E_NOT_FOUND', message: /no route "\/nothing"/, hint: /\/metrics/ } });
  t.equal((await request(`${url}/api/v1/datastores/nope`)).status, 404);
  const badQuery = await request(`${url}/api/v1/journal?limit=abc`);
  t.equal(badQuery.status, 400);
  t.match(JSON.parse(badQuery.body).error, { code: 'E_USAGE', message: /limit="abc"/ });

  for (const [method, path] of [['POST', '/api/v1/datastores'], ['DELETE', '/api/v1/alerts/1'], ['PUT', '/metrics'], ['POST', '/elsewhere']] as const) {
    const reply = await request(`${url}${path}`, { method });
    t.equal(reply.status, 405, `${method} ${path}: 405`);
    t.equal(reply.headers.allow, 'GET, HEAD');
    t.match(JSON.parse(reply.body), { ok: false, error: { message: /read-only/ } });
  }

  const head = await request(`${url}/api/v1/datastores`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body, '', 'HEAD: no body');
  t.ok(Number(head.headers['content-length']) > 0, 'HEAD: the length the GET would have');

  // DNS rebinding: a page served as evil.example, its name re-bound to 127.0.0.1, cannot read the API.
  const rebound = await request(`${url}/api/v1/datastores`, { headers: { Host: 'evil.example:8080' } });
  t.equal(rebound.status, 403);
  t.match(JSON.parse(rebound.body).error, { message: /not a loopback name/ });
  t.equal((await request(`${url}/metrics`, { headers: { Host: `localhost:${new URL(url).port}` } })).status, 200, 'Host: localhost is fine');
});

t.test('with a token: every request needs it, and it never shows', async (t) => {
  const token = 'S3CR3T-token-4d6f0a9c';
  const { world, url, logs } = await serve(t, { token });
  const refusals: Array<[string, Record<string, string>]> = [
    ['no Authorization', {}],
    ['a wrong token', { Authorization: 'Bearer S3CR3T-token-4d6f0a9d' }],
    ['a shorter one', { Authorization: 'Bearer S3CR3T' }],
    ['a longer one', { Authorization: `Bearer ${token}x` }],
    ['Basic', { Authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` }],
    ['no scheme', { Authorization: token }],
  ];
  for (const path of ['/metrics', '/api/v1/datastores', '/api/v1/health', '/nothing']) {
    for (const [what, headers] of refusals) {
      const reply = await request(`${url}${path}`, { headers });
      t.equal(reply.status, 401, `${path}, ${what}: 401`);
      t.equal(reply.headers['www-authenticate'], 'Bearer realm="ferry"');
      t.match(JSON.parse(reply.body), { ok: false, error: { message: /no valid bearer token/ } });
    }
  }
  t.equal((await request(`${url}/api/v1/datastores`, { method: 'POST' })).status, 401, 'a POST without the token: 401 before 405');
  const auth = { Authorization: `Bearer ${token}` };
  for (const path of everyPath(world)) {
    const reply = await request(`${url}${path}`, { headers: auth });
    t.equal(reply.status, 200, `${path} with the token: 200`);
    t.notOk(reply.body.includes(SECRET_MARK) || JSON.stringify(reply.headers).includes(SECRET_MARK), `${path}: no secret, no token`);
  }
  t.equal((await request(`${url}/metrics`, { headers: { authorization: `bearer ${token}` } })).status, 200, 'the scheme in any case');
  t.equal((await request(`${url}/metrics`, { headers: { ...auth, Host: 'monitor.example.org' } })).status, 200, 'with a token, any Host');
  t.ok(logs.length > 10, 'requests are logged');
  t.notOk(logs.join('').includes(SECRET_MARK), 'the token is never logged');
});

t.test('with a token, a browser signs in with a form and gets a session cookie that is not the token', async (t) => {
  const token = 'S3CR3T-token-4d6f0a9c';
  const { url, logs } = await serve(t, { token });
  const html = { Accept: 'text/html,application/xhtml+xml' };
  const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

  const asked = await request(`${url}/vms?state=RUNNING`, { headers: html });
  t.equal(asked.status, 401, 'a page without a session: 401');
  t.match(asked.headers['content-type'], /^text\/html/, 'with the login page');
  t.match(asked.headers['content-security-policy'], /form-action 'self'/, 'under the CSP, which lets the form post here only');
  t.match(asked.body, /<form class="login" method="post" action="\/login">/);
  t.match(asked.body, /name="next" value="\/vms\?state=RUNNING"/, 'coming back to the page asked for');
  t.equal((await request(`${url}/api/v1/health`, { headers: html })).headers['content-type'], 'application/json; charset=utf-8', 'the API still answers JSON');

  const wrong = await request(`${url}/login`, form({ token: 'S3CR3T-token-4d6f0a9d', next: '/vms' }));
  t.equal(wrong.status, 401, 'a wrong token: 401');
  t.equal(wrong.headers['set-cookie'], undefined, 'and no cookie');
  t.match(wrong.body, /not the token/);
  t.equal((await request(`${url}/login`, { ...form({ token }), headers: { 'Content-Type': 'text/plain' } })).status, 401, 'not a form: refused');
  t.equal((await request(`${url}/login`, form({ token, pad: 'x'.repeat(10_000) }))).status, 401, 'a form over 8 KiB: refused');

  const signed = await request(`${url}/login`, form({ token, next: '/vms?state=RUNNING' }));
  t.equal(signed.status, 303, 'the token: 303');
  t.equal(signed.headers.location, '/vms?state=RUNNING', 'on to the page asked for');
  const setCookie = String(signed.headers['set-cookie']);
  t.match(setCookie, /^ferry_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
  t.notOk(setCookie.includes(token), 'the cookie is not the token');
  const cookie = setCookie.split(';')[0]!;
  t.equal((await request(`${url}/login`, form({ token, next: '//evil.example/' }))).headers.location, '/', 'never on to another site');

  for (const path of ['/', '/vms', '/alerts', '/api/v1/datastores', '/metrics']) t.equal((await request(`${url}${path}`, { headers: { ...html, Cookie: cookie } })).status, 200, `${path} with the session: 200`);
  t.equal((await request(`${url}/login?next=/alerts`, { headers: { Cookie: cookie } })).headers.location, '/alerts', 'the login page of a signed-in browser goes on');
  t.equal((await request(`${url}/`, { headers: { ...html, Cookie: `${cookie.slice(0, -2)}xx` } })).status, 401, 'a tampered cookie: 401');
  t.notOk(logs.join('').includes(token), 'the token is never logged');
  t.notOk(logs.join('').includes(cookie.split('=')[1]!), 'nor the session');
});

t.test('close() closes keep-alive connections and stops listening', async (t) => {
  const { url, close } = await serve(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  t.equal((await request(`${url}/api/v1/health`, { agent })).status, 200);
  t.equal((await request(`${url}/metrics`, { agent })).status, 200, 'the same socket, kept alive');
  const started = Date.now();
  await close();
  t.ok(Date.now() - started < 1000, `closed in ${Date.now() - started} ms, not after the keep-alive timeout`);
  await t.rejects(request(`${url}/api/v1/health`), { code: 'ECONNREFUSED' }, 'no longer listening');
  await close();
  t.pass('close() twice is fine');
});

t.test('a port in use is refused, naming it', async (t) => {
  const { world, url } = await serve(t);
  const port = Number(new URL(url).port);
  await t.rejects(startHttp({ host: '127.0.0.1', port, catalog: world.catalog, metrics: createMetrics(world.catalog), logger: createLogger({ level: 'silent' }) }), {
    code: 'E_CONFIG',
    message: new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`),
    hint: /--listen/,
  });
});

t.test('IPv6 loopback', async (t) => {
  const world = serviceWorld(t);
  const server = await startHttp({ host: '::1', port: 0, catalog: world.catalog, metrics: createMetrics(world.catalog), logger: createLogger({ level: 'silent' }) });
  t.teardown(() => server.close());
  t.match(server.url, /^http:\/\/\[::1\]:\d+$/);
  t.equal((await request(`${server.url}/api/v1/health`)).status, 200);
});

t.test('a failing scrape is a 500, logged, its details kept out of the answer', async (t) => {
  const { logs, url } = await serve(t, { metrics: { contentType: 'text/plain', render: () => Promise.reject(new Error('database disk image is malformed')) } });
  const reply = await request(`${url}/metrics`);
  t.equal(reply.status, 500);
  t.match(JSON.parse(reply.body), { ok: false, error: { code: 'E_INTERNAL', message: /see ferry serve's log/ } });
  t.notOk(reply.body.includes('malformed'));
  t.ok(logs.some((line) => line.includes('database disk image is malformed')), 'the cause is in the log');
  t.equal((await request(`${url}/api/v1/health`)).status, 200, 'the server carries on');
});
