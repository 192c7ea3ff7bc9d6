/**
 * A real Prometheus (Debian's prometheus package) on loopback scrapes the service's /metrics every second, with
 * the bearer token from a 0600 file, and its query API returns the datastore's capacity. Prometheus runs in a
 * process group of its own, killed whole at the end: nothing is left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/log/logger.js';
import { startHttp } from '../../src/service/http.js';
import { createMetrics } from '../../src/service/metrics.js';
import { processAlive, tmpDir, waitFor } from '../helpers/fixtures.js';
import { promTool } from '../helpers/prom.js';
import { serviceWorld } from '../helpers/service-world.js';

/** A port free on 127.0.0.1 now (Prometheus takes no port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Kills `child`'s whole process group (TERM, then KILL after 5 s) and waits for it to be gone. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || !processAlive(pid)) return;
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((done) => child.once('exit', () => done()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

t.test('Prometheus scrapes /metrics with the token and answers a query with the datastore\'s capacity', { timeout: 60_000 }, async (t) => {
  const prometheus = promTool('prometheus');
  const world = serviceWorld(t);
  const dir = tmpDir(t, 'ferry-prometheus-');
  const token = 'prometheus-test-token-5e2a';
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const server = await startHttp({ host: '127.0.0.1', port: 0, token, catalog: world.catalog, metrics: createMetrics(world.catalog), logger: createLogger({ level: 'silent' }) });
  t.teardown(() => server.close());

  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      '  - job_name: ferry',
      '    scrape_interval: 1s',
      `    authorization: {type: Bearer, credentials_file: ${JSON.stringify(tokenFile)}}`,
      `    static_configs: [{targets: [${JSON.stringify(new URL(server.url).host)}]}]`,
      '',
    ].join('\n'),
  );
  let output = '';
  const child = spawn(prometheus, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.teardown(() => stopGroup(child));

  try {
    const expected = String(world.catalog.datastore(world.ids.images).totalMb! * 1048576);
    let answer: any;
    const found = await waitFor(
      () => {
        if (child.exitCode !== null) return true;
        void fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('ferry_datastore_total_bytes{datastore="images"}')}`)
          .then((res) => res.json())
          .then((json) => (answer = json), () => undefined);
        return answer?.data?.result?.[0]?.value?.[1] === expected;
      },
      30_000,
      500,
    );
    t.equal(child.exitCode, null, `prometheus runs${child.exitCode === null ? '' : `: it exited ${child.exitCode}: ${output}`}`);
    t.ok(found, `Prometheus returned the datastore's total within 30 s (last answer: ${JSON.stringify(answer)}; its log: ${output})`);
    t.match(answer?.data?.result?.[0]?.metric, { __name__: 'ferry_datastore_total_bytes', datastore: 'images', datastore_id: String(world.ids.images), job: 'ferry' });
    const up = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json()) as any;
    t.equal(up.data.result[0]?.value?.[1], '1', 'the target is up (the token was accepted)');
  } finally {
    await stopGroup(child);
  }
  t.notOk(processAlive(child.pid!), 'prometheus is gone');
});
