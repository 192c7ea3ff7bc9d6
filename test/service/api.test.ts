/** The JSON API as a function: every route on a filled catalog, the refusals (400, 404, 405), and no secret. */
import t from 'tap';
import { API_ROUTES, handleApi } from '../../src/service/api.js';
import { action, SECRET_MARK, SECRETS, serviceWorld } from '../helpers/service-world.js';

const get = (catalog: Parameters<typeof handleApi>[0], path: string, now?: number) => handleApi(catalog, 'GET', new URL(path, 'http://127.0.0.1'), { version: '1.2.3', ...(now === undefined ? {} : { now: () => now }) });
const result = (answer: { status: number; body: unknown }): any => {
  if (answer.status !== 200) throw new Error(`status ${answer.status}: ${JSON.stringify(answer.body)}`);
  return (answer.body as { result: unknown }).result;
};

t.test('every route answers from the catalog', async (t) => {
  const { catalog, ids, now } = serviceWorld(t);
  t.same(result(get(catalog, '/api/v1/health')), { version: '1.2.3', catalog: catalog.path });
  t.same(get(catalog, '/api/v1/health').body, { ok: true, result: { version: '1.2.3', catalog: catalog.path } }, 'the CLI\'s --json envelope');

  const datastores = result(get(catalog, '/api/v1/datastores'));
  t.same(datastores.map((ds: any) => ds.name), ['images', 'system', 'spare']);
  t.same(datastores[0].secrets, { API_KEY: '***' }, 'a secret\'s name, never its value');
  t.same(datastores[0].template, { LIMIT_MB: '900' });
  t.match(datastores[1].monitor, { state: 'ERROR', failures: 3, lastError: /Connection refused/ });
  t.match(datastores[2].monitor, { state: 'OK', failures: 0 });

  const images = result(get(catalog, `/api/v1/datastores/${ids.images}`, now));
  t.match(images, { id: ids.images, name: 'images', totalMb: 1000, usedMb: 600, freeMb: 400, secrets: { API_KEY: '***' }, monitor: { state: 'OK' } });
  t.equal(images.trend.usedMbNow, 600);
  t.equal(images.trend.usedMbDayAgo, 480, 'the trend: a day ago');
  t.ok(images.trend.growthMbPerDay > 0 && images.trend.fullAt !== null, 'the trend: growing, and when it fills');
  t.same(result(get(catalog, '/api/v1/datastores/system')).id, ids.system, 'by name');
  t.same(result(get(catalog, '/api/v1/datastores/system/')).id, ids.system, 'a trailing slash');

  const history = result(get(catalog, `/api/v1/datastores/images/history`, now));
  t.equal(history.attribute, 'used_mb');
  t.equal(history.points.length, 25, 'the last 24 h by default (both ends)');
  t.equal(history.points.at(-1).value, 600);
  t.equal(history.to, new Date(now).toISOString());
  const from = new Date(now - 3 * 3_600_000).toISOString();
  const recent = result(get(catalog, `/api/v1/datastores/images/history?attribute=total_mb&from=${encodeURIComponent(from)}&to=${now}`));
  t.same(recent.points.map((p: any) => p.value), [1000, 1000, 1000, 1000], 'ISO and ms times, another attribute');
  t.same(result(get(catalog, `/api/v1/datastores/images/history?attribute=nothing`)).points, [], 'an attribute never sampled: no points');

  const hosts = result(get(catalog, '/api/v1/hosts'));
  t.same(hosts.map((h: any) => h.name), ['node1', 'node2']);
  t.match(hosts[1], { transport: 'ssh', address: '192.0.2.7', port: 2222, user: 'oneadmin', identity: '/etc/ferry/id_ed25519' });
  t.equal(result(get(catalog, '/api/v1/hosts/node2')).address, '192.0.2.7');

  const allImages = result(get(catalog, '/api/v1/images'));
  t.same(allImages.map((i: any) => [i.name, i.state]), [['debian', 'READY'], ['broken', 'ERROR'], ['uploading', 'LOCKED']]);
  t.equal(result(get(catalog, `/api/v1/images?datastore=images`)).length, 3);
  t.equal(result(get(catalog, `/api/v1/images?datastore=${ids.spare}`)).length, 0);
  const debian = result(get(catalog, '/api/v1/images/debian'));
  t.equal(debian.state, 'READY');
  t.same(debian.vms, [result(get(catalog, '/api/v1/vms/web')).id], 'the VMs using it');

  const vms = result(get(catalog, '/api/v1/vms'));
  t.same(vms.map((v: any) => [v.name, v.state]), [['web', 'RUNNING'], ['db', 'FAILED']]);
  t.equal(result(get(catalog, `/api/v1/vms/${vms[1].id}`)).error, 'tm/ssh clone failed');

  t.equal(result(get(catalog, '/api/v1/alerts')).length, 4);
  t.same(result(get(catalog, '/api/v1/alerts?state=firing')).map((a: any) => a.rule), ['free_below_20', 'monitor_failing', 'vm_failed']);
  t.same(result(get(catalog, '/api/v1/alerts?state=cleared')).map((a: any) => a.rule), ['free_below_10']);
  t.same(result(get(catalog, '/api/v1/alerts?severity=critical')).map((a: any) => a.rule), ['monitor_failing', 'free_below_10']);
  t.same(result(get(catalog, '/api/v1/alerts?state=firing&severity=critical,major')).map((a: any) => a.rule), ['monitor_failing', 'vm_failed']);
  const first = result(get(catalog, '/api/v1/alerts'))[0];
  t.same(result(get(catalog, `/api/v1/alerts/${first.id}`)), first);

  for (let i = 0; i < 5; i++) catalog.record(action(`datastore:${ids.images}`, 'datastore', 'fs', 'monitor', 10 + i));
  catalog.record(action('vm:1', 'tm', 'shared', 'clone', 1500));
  const journal = result(get(catalog, '/api/v1/journal'));
  t.equal(journal.length, 6);
  t.equal(journal[0].action, 'clone', 'newest first');
  t.same(result(get(catalog, '/api/v1/journal?limit=2')).map((e: any) => e.id), journal.slice(0, 2).map((e: any) => e.id));
  t.same(result(get(catalog, `/api/v1/journal?before=${journal[1].id}&limit=2`)).map((e: any) => e.id), journal.slice(2, 4).map((e: any) => e.id), 'paging back');
  t.same(result(get(catalog, `/api/v1/journal?after=${journal[2].id}`)).map((e: any) => e.id), journal.slice(0, 2).map((e: any) => e.id).reverse(), 'tailing: oldest first');
  t.equal(result(get(catalog, '/api/v1/journal?subject=vm:1')).length, 1);
});

t.test('refusals: 404, 400 naming the parameter, 405 with Allow', async (t) => {
  const { catalog } = serviceWorld(t);
  const refused = (path: string, status: number, code: string, message: RegExp) => {
    const answer = get(catalog, path);
    t.equal(answer.status, status, `${path}: ${status}`);
    t.match(answer.body, { ok: false, error: { code, message, hint: String } }, `${path}: ${message}`);
  };
  refused('/api/v1/nothing', 404, 'E_NOT_FOUND', /no route/);
  refused('/api/v1', 404, 'E_NOT_FOUND', /no route/);
  refused('/api/v1/datastores/1/2/3', 404, 'E_NOT_FOUND', /no route/);
  refused('/api/v1/datastores/nope', 404, 'E_NOT_FOUND', /no datastore "nope"/);
  refused('/api/v1/datastores/nope/history', 404, 'E_NOT_FOUND', /no datastore/);
  refused('/api/v1/images/nope', 404, 'E_NOT_FOUND', /image/);
  refused('/api/v1/vms/999', 404, 'E_NOT_FOUND', /VM|vm/);
  refused('/api/v1/hosts/nope', 404, 'E_NOT_FOUND', /host/);
  refused('/api/v1/alerts/999', 404, 'E_NOT_FOUND', /no alert/);
  refused('/api/v1/alerts/abc', 404, 'E_NOT_FOUND', /no alert/);
  refused('/api/v1/datastores/%E0%A4%A', 400, 'E_USAGE', /percent-encoding/);
  refused('/api/v1/datastores?x=1', 400, 'E_USAGE', /no query parameter "x"/);
  refused('/api/v1/journal?limt=5', 400, 'E_USAGE', /no query parameter "limt"/);
  refused('/api/v1/journal?limit=0', 400, 'E_USAGE', /limit="0" is not an integer from 1 to 1000/);
  refused('/api/v1/journal?limit=1001', 400, 'E_USAGE', /limit/);
  refused('/api/v1/journal?after=-1', 400, 'E_USAGE', /after=/);
  refused('/api/v1/journal?limit=1&limit=2', 400, 'E_USAGE', /more than once/);
  refused('/api/v1/alerts?state=open', 400, 'E_USAGE', /state="open" is not one of firing, cleared/);
  refused('/api/v1/alerts?severity=critical,bad', 400, 'E_USAGE', /severity/);
  refused('/api/v1/datastores/images/history?from=yesterday', 400, 'E_USAGE', /from="yesterday" is not a time/);
  refused('/api/v1/datastores/images/history?from=2000&to=1000', 400, 'E_USAGE', /after to/);
  refused('/api/v1/datastores/images/history?from=0', 400, 'E_USAGE', /400 days/);
  refused('/api/v1/datastores/images/history?attribute=a;b', 400, 'E_USAGE', /attribute/);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const answer = handleApi(catalog, method, new URL('http://127.0.0.1/api/v1/datastores'));
    t.equal(answer.status, 405, method);
    t.same(answer.headers, { Allow: 'GET, HEAD' });
    t.match(answer.body, { ok: false, error: { message: /read-only/ } });
  }
  t.equal(handleApi(catalog, 'HEAD', new URL('http://127.0.0.1/api/v1/vms')).status, 200, 'HEAD as GET');
});

t.test('no secret in any answer', async (t) => {
  const { catalog, ids } = serviceWorld(t);
  catalog.record(action(`datastore:${ids.images}`, 'datastore', 'fs', 'monitor', 10));
  // Each route with each of its records: datastores by name and id, the others by name or id.
  const refs: Record<string, string[]> = { datastores: ['images', 'system', String(ids.images), String(ids.spare)], images: ['debian', 'broken'], vms: ['web', 'db'], hosts: ['node1', 'node2'], alerts: ['1', '2', '3', '4'] };
  const paths = API_ROUTES.flatMap((route) => {
    const kind = /^\/api\/v1\/([a-z]+)\/:/.exec(route)?.[1];
    return kind === undefined ? [route] : refs[kind]!.map((ref) => route.replace(/:[a-z]+/, ref));
  });
  t.ok(paths.length > 20);
  for (const path of new Set(paths)) {
    const answer = get(catalog, path);
    t.equal(answer.status, 200, path);
    const text = JSON.stringify(answer.body);
    t.notOk(text.includes(SECRET_MARK) || text.includes(SECRETS.API_KEY) || text.includes(SECRETS.PASSWORD), `${path}: no secret value`);
  }
});

t.test('history: a long series comes back as even buckets of min, average and max, at most `points` of them', async (t) => {
  const { catalog, ids, now } = serviceWorld(t);
  const SECOND = 1000;
  const HOUR = 3_600_000;
  // A 1 s monitor: 30,000 samples over the last 8⅓ h, value i for the i-th (a ramp, so each bucket's figures are known).
  const start = now - 30_000 * SECOND;
  const samples = Array.from({ length: 30_000 }, (_, i) => ({ datastoreId: ids.spare, attribute: 'used_mb', at: start + i * SECOND, value: i }));
  catalog.recordSamples(samples);
  const path = (query: string) => `/api/v1/datastores/spare/history?from=${start}&to=${now}${query}`;

  const answer = result(get(catalog, path(''), now));
  t.equal(answer.seriesPoints, 30_000, 'the series has every sample');
  t.equal(answer.bucketSeconds, 16, '30,000 s in at most 2,000 buckets (the default): 16 s each');
  t.ok(answer.points.length <= 2000 && answer.points.length >= 1870, `${answer.points.length} points, not 30,000`);
  t.ok(JSON.stringify(answer).length < 250_000, 'a small answer');
  const points = answer.points as Array<{ kind: string; at: number; value: number; min: number; max: number; count: number }>;
  t.ok(points.every((p) => p.kind === 'bucket' && p.at % 16_000 === 0), 'buckets at multiples of their width');
  t.ok(points.every((p, i) => i === 0 || p.at - points[i - 1]!.at === 16_000), 'one after another, none empty in an unbroken series');
  t.equal(points.reduce((sum, p) => sum + p.count, 0), 30_000, 'every sample in one bucket');
  t.equal(points[0]!.min, 0, 'the first sample is the first bucket\'s min');
  t.equal(points.at(-1)!.max, 29_999, 'the last is the last bucket\'s max');
  for (const p of points) {
    // On a ramp of one a second, a bucket's samples are min..max: its average is their middle, its count their number.
    if (p.max - p.min + 1 !== p.count || p.value !== (p.min + p.max) / 2) {
      t.fail(`bucket at ${p.at}: ${JSON.stringify(p)}`);
      break;
    }
  }
  t.ok(points.slice(1, -1).every((p) => p.count === 16), 'a whole bucket holds 16 samples');
  const sampleBucket = points.find((p) => p.at <= start + 100 * SECOND && start + 100 * SECOND < p.at + 16_000)!;
  t.ok(sampleBucket.min <= 100 && 100 <= sampleBucket.max, 'sample 100 is in the bucket covering its time');

  const fine = result(get(catalog, path('&points=10000'), now));
  t.equal(fine.bucketSeconds, 4, 'at most 10,000: 4 s buckets');
  t.ok(fine.points.length <= 10_000 && fine.points.length >= 7400, `${fine.points.length} points`);
  const coarse = result(get(catalog, path('&points=2'), now));
  t.ok(coarse.points.length <= 2, 'two buckets at most');
  t.equal(coarse.points.reduce((sum: number, p: { count: number }) => sum + p.count, 0), 30_000);

  // Fewer samples than points: the series itself, as before.
  const recent = result(get(catalog, `/api/v1/datastores/spare/history?from=${now - 1000 * SECOND}&to=${now}&points=5000`, now));
  t.equal(recent.bucketSeconds, null, 'not bucketed');
  t.same(recent.points, catalog.series(ids.spare, 'used_mb', now - 1000 * SECOND, now), 'the catalog\'s own points');
  t.equal(recent.seriesPoints, recent.points.length);

  // Hourly rollups and raw samples together: an hour weighs as the samples it stands for.
  const old = Math.floor((now - 4 * 24 * HOUR) / HOUR) * HOUR;
  const hours: Array<{ datastoreId: number; attribute: string; at: number; value: number }> = [];
  for (let m = 0; m < 6 * 60; m++) hours.push({ datastoreId: ids.spare, attribute: 'free_mb', at: old + m * 60_000, value: m < 60 ? 100 : 200 });
  hours.push({ datastoreId: ids.spare, attribute: 'free_mb', at: now - HOUR, value: 400 });
  catalog.recordSamples(hours);
  catalog.pruneHistory(now);
  const mixedRange = `/api/v1/datastores/spare/history?attribute=free_mb&from=${old - HOUR}&to=${now}`;
  const series = result(get(catalog, mixedRange, now)).points as Array<{ kind: string; count: number; value: number }>;
  t.same(series.map((p) => p.kind), ['hour', 'hour', 'hour', 'hour', 'hour', 'hour', 'raw'], 'six hours folded, one raw sample');
  const mixed = result(get(catalog, `${mixedRange}&points=2`, now));
  t.ok(mixed.bucketSeconds > 0 && mixed.points.length <= 2, 'bucketed');
  const total = mixed.points.reduce((sum: number, p: { count: number }) => sum + p.count, 0);
  t.equal(total, 361, 'each hour counts its 60 samples');
  const sum = mixed.points.reduce((all: number, p: { value: number; count: number }) => all + p.value * p.count, 0);
  t.equal(Math.round(sum), 100 * 60 + 200 * 300 + 400, 'each bucket\'s average weighted by the samples its hours stand for');
  t.same([Math.min(...mixed.points.map((p: { min: number }) => p.min)), Math.max(...mixed.points.map((p: { max: number }) => p.max))], [100, 400], 'the hours\' min and max kept');

  const refused = (query: string, message: RegExp) => t.match(get(catalog, path(query), now), { status: 400, body: { ok: false, error: { code: 'E_USAGE', message } } }, query);
  refused('&points=1', /points="1" is not an integer from 2 to 10000/);
  refused('&points=10001', /points=/);
  refused('&points=many', /points=/);
});
