/**
 * `ferry worker`: runs the operations commands queue on a PostgreSQL catalog (docs/workers.md), in the foreground
 * until SIGTERM or Ctrl-C, on any machine that reaches the database and has the drivers. Limited with --hosts and
 * --datastores to the storage it can reach: a job touching any other is left to other workers (graphile-worker's
 * forbidden flags against the job's scope: queue/request.ts scopeOf).
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { Catalog } from '../catalog/catalog.js';
import { catalogLocation } from '../config/catalog-path.js';
import { loadConfig } from '../config/config.js';
import { hostsEnv } from '../config/hosts.js';
import { FerryError } from '../errors.js';
import { alertingFrom } from '../lifecycle/alert-rules.js';
import { transferLine } from '../lifecycle/plan.js';
import { hostsOf } from './catalog-hosts.js';
import { run, untilAborted, type SetStatus } from './command.js';
import { flagsOf, makeContext } from './context.js';
import { parseWhole } from './input.js';
import type { Io } from './io.js';

interface WorkerFlags {
  concurrency?: string;
  hosts?: string;
  datastores?: string;
  onStop?: 'finish' | 'handback';
  reclaimEvery?: string;
}

export function registerWorker(program: Command, io: Io, setStatus: SetStatus): void {
  program
    .command('worker')
    .summary('run the VM and image operations queued on a PostgreSQL catalog')
    .option('--concurrency <n>', 'operations run at once (default 4); one image or VM still runs one at a time')
    .option('--hosts <names>', 'only operations on these hosts (comma-separated): the hosts this machine reaches')
    .option('--datastores <refs>', 'only operations on these datastores (ids or names, comma-separated)')
    .option('--reclaim-every <seconds>', 'how often to look for workers that died and take up their operations (default 15)')
    .addOption(new Option('--on-stop <what>', 'on SIGTERM: let running operations finish, or stop their driver actions and hand them back to the queue').choices(['finish', 'handback']).default('finish'))
    .addHelpText(
      'after',
      `
Runs in the foreground, logging to stderr. Needs a PostgreSQL catalog (catalog: postgres://… in ferry.yaml,
--catalog or $FERRY_CATALOG; password from PGPASSWORD or a pgpass file) and the drivers its operations use.
Any number of workers, on any machines, take the queued operations; operations on one image or VM run one at a
time, in order. A worker that dies loses nothing: another takes its operation up (docs/workers.md).

Examples:
  $ ferry worker
  $ ferry worker --concurrency 8 --log-level debug
  $ ferry worker --hosts node1,node2 --datastores 0,1,100
  $ ferry worker --on-stop handback
`,
    )
    .action((flags: WorkerFlags, command: Command) => run(command, io, (status) => setStatus(status, { stopOnSignal: status === 0 }), () => work(command, io, flags)));
}

/** Comma-separated names; E_USAGE for an empty one. */
function listOf(text: string | undefined, flag: string): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new FerryError('E_USAGE', `${flag} ${JSON.stringify(text)} has an empty name`, { hint: `${flag} a,b,c` });
  return items;
}

async function work(command: Command, io: Io, flags: WorkerFlags): Promise<number> {
  const global = flagsOf(command);
  const config = await loadConfig(global.config, io.cwd);
  const location = catalogLocation(global.catalog, io.env, io.cwd, config.catalog);
  if (location.kind !== 'postgres') {
    throw new FerryError('E_USAGE', `ferry worker runs operations queued on a PostgreSQL catalog; the catalog ${location.path} is a SQLite file, whose commands run their operations themselves`, {
      hint: 'put the catalog on PostgreSQL (catalog: postgres://user@host/db in ferry.yaml, docs/workers.md), or run commands without workers',
    });
  }
  const concurrency = flags.concurrency === undefined ? 4 : parseWhole(flags.concurrency, '--concurrency', 'a whole number of operations, 1 to 64');
  if (concurrency < 1 || concurrency > 64) throw new FerryError('E_USAGE', `--concurrency ${concurrency} is out of range`, { hint: 'give 1 to 64' });
  const reclaimS = flags.reclaimEvery === undefined ? 15 : parseWhole(flags.reclaimEvery, '--reclaim-every', 'whole seconds, 1 to 3600');
  if (reclaimS < 1 || reclaimS > 3600) throw new FerryError('E_USAGE', `--reclaim-every ${reclaimS} is out of range`, { hint: 'give 1 to 3600 seconds' });
  const hosts = listOf(flags.hosts, '--hosts');
  const datastores = listOf(flags.datastores, '--datastores');

  const [{ Catalog }, { findPassword }, { installQueue, queuePool }, { startWorker }, { operationTask }, { OPERATION_TASK }] = await Promise.all([
    import('../catalog/catalog.js'),
    import('../catalog/pgpass.js'),
    import('../queue/install.js'),
    import('../queue/worker.js'),
    import('../queue/task.js'),
    import('../queue/enqueue.js'),
  ]);
  const open = (): Catalog => Catalog.openAt(location, io.env);
  const main = open();
  const closing: Array<() => void | Promise<void>> = [() => main.close()];
  try {
    const base = await makeContext(command, io, { config, hosts: hostsOf(main), defaultLevel: 'info' });
    const logger = base.logger.child({ component: 'worker' });
    const frontend = config.frontend ?? hostname();
    // Checked now, so a typo is refused at start rather than leaving every job on the floor.
    for (const name of hosts ?? []) main.host(name);
    const allowedDs = new Set((datastores ?? []).map((ref) => main.datastore(ref).id));

    // The runner with the catalog's hosts as they are now: hosts added while the worker runs are seen.
    let runnerKey = '';
    let runner = base.runner;
    const runnerFor = (catalog: Catalog) => {
      const known = { ...hostsOf(catalog), ...config.hosts };
      const key = JSON.stringify(known);
      if (key !== runnerKey) {
        runnerKey = key;
        runner = base.runner.withEnv(hostsEnv({ frontend, hosts: known }));
      }
      return runner;
    };
    const forbidden = hosts === undefined && datastores === undefined ? undefined : (): string[] => [
      ...(hosts === undefined ? [] : main.listHosts().filter((host) => !hosts.includes(host.name)).map((host) => `host:${host.name}`)),
      ...(datastores === undefined ? [] : main.listDatastores().filter((ds) => !allowedDs.has(ds.id)).map((ds) => `ds:${ds.id}`)),
    ];

    const pool = queuePool(location, findPassword(location, io.env)?.password, concurrency + 3, 'ferry-worker-pool');
    closing.push(() => pool.end());
    await installQueue(pool, logger);
    const handback = new AbortController();
    const worker = `${hostname()}:${process.pid}`;
    const { task, close } = operationTask({
      openCatalog: open,
      worker,
      logger,
      ...(flags.onStop === 'handback' ? { handback: handback.signal } : {}),
      life: (catalog) => {
        const own = runnerFor(catalog);
        return { runner: own, frontend, alerting: alertingFrom(config, own), ...(config.monitor?.max_age !== undefined ? { monitorMaxAgeS: config.monitor.max_age } : {}) };
      },
      onStep: (operation, event) => {
        if (event.outcome) logger.info({ operation: operation.id, subject: event.subject, step: `${event.index + 1}/${event.total}`, ok: event.outcome.ok, ms: Math.round(event.outcome.durationMs) }, transferLine(event.step));
      },
    });
    closing.push(close);
    // A dead worker's jobs are freed once its session is gone and its newest lock is older than the same span.
    const reclaim = { reclaimIntervalMs: reclaimS * 1000, reclaimGraceMs: Math.min(10, reclaimS) * 1000 };
    const running = await startWorker({ pool, tasks: { [OPERATION_TASK]: task }, concurrency, logger, ...reclaim, ...(forbidden ? { forbiddenFlags: forbidden } : {}) });
    logger.info({ worker, concurrency, hosts: hosts?.join(',') ?? 'all', datastores: datastores?.join(',') ?? 'all', onStop: flags.onStop ?? 'finish' }, 'ferry worker ready');
    await Promise.race([untilAborted(io.signal), running.done]);
    if (io.signal?.aborted) {
      logger.info({ onStop: flags.onStop ?? 'finish' }, flags.onStop === 'handback' ? 'stopping: handing running operations back' : 'stopping: letting running operations finish');
      if (flags.onStop === 'handback') handback.abort();
    }
    await running.stop();
    return 0;
  } finally {
    for (const step of closing.reverse()) await step();
  }
}
