/** `ferry serve`: the service that watches the storage (docs/monitoring.md), in the foreground until SIGTERM. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { catalogLocation } from '../config/catalog-path.js';
import { loadConfig, type FerryConfig } from '../config/config.js';
import type { CatalogStore } from '../catalog/store.js';
import { hostsOf } from './catalog-hosts.js';
import { run, untilAborted, type SetStatus } from './command.js';
import { flagsOf, makeContext } from './context.js';
import type { Io } from './io.js';

interface ServeFlags {
  listen?: string;
  tokenFile?: string;
}

export function registerServe(program: Command, io: Io, setStatus: SetStatus): void {
  program
    .command('serve')
    .summary('watch the storage: monitor every datastore, keep history, raise alerts, serve /metrics and the API')
    .option('--listen <host:port>', 'where the HTTP API and /metrics listen (default 127.0.0.1:9469, or serve.listen in ferry.yaml)')
    .option('--token-file <path>', 'file (mode 0600) holding the token every HTTP request must carry; required to listen off loopback')
    .addHelpText(
      'after',
      `
Runs in the foreground, logging to stderr: every datastore is monitored at its interval (monitor.interval in
ferry.yaml, a datastore's MONITOR_INTERVAL), samples go to the catalog's history, alert rules raise and clear
alerts, and alert hooks (remotes/hooks/alert/) run. One service per catalog. SIGTERM or Ctrl-C stops it
cleanly; SIGHUP reloads ferry.yaml.

Examples:
  $ ferry serve
  $ ferry serve --listen 127.0.0.1:9100 --log-level debug
  $ ferry serve --listen 0.0.0.0:9469 --token-file /etc/ferry/token
  $ curl -s http://127.0.0.1:9469/metrics
`,
    )
    .action((flags: ServeFlags, command: Command) =>
      // Stopped by SIGTERM or Ctrl-C is how a service ends: exit 0, as a service manager expects.
      run(command, io, (status) => setStatus(status, { stopOnSignal: status === 0 }), () => serve(command, io, flags)),
    );
}

async function serve(command: Command, io: Io, flags: ServeFlags): Promise<number> {
  const { startService } = await import('../service/service.js');
  const { Catalog } = await import('../catalog/catalog.js');
  const global = flagsOf(command) as { catalog?: string; config?: string };
  const service = await startService(
    {
      env: io.env,
      loadConfig: () => loadConfig(global.config, io.cwd),
      async makeRunner(config: FerryConfig, catalog: CatalogStore) {
        const context = await makeContext(command, io, { config, hosts: hostsOf(catalog), defaultLevel: 'info' });
        return { runner: context.runner, logger: context.logger };
      },
      async startHttp({ catalog, config, logger }) {
        const { createMetrics } = await import('../service/metrics.js');
        const { startHttp } = await import('../service/http.js');
        const { checkListen, parseListen, readTokenFile, DEFAULT_HOST, DEFAULT_PORT } = await import('../service/listen.js');
        const { host, port } = parseListen(flags.listen ?? config.serve?.listen ?? `${DEFAULT_HOST}:${DEFAULT_PORT}`);
        // A token file given on the command line is relative to where ferry runs; ferry.yaml's, to ferry.yaml.
        const tokenFile = flags.tokenFile !== undefined ? resolve(io.cwd, flags.tokenFile) : config.serve?.token_file;
        const token = tokenFile === undefined ? undefined : readTokenFile(tokenFile);
        checkListen(host, token);
        return startHttp({ host, port, ...(token !== undefined ? { token } : {}), catalog, metrics: createMetrics(catalog), logger });
      },
    },
    async (config) => {
      return Catalog.openAt(catalogLocation(global.catalog, io.env, io.cwd, config.catalog), io.env);
    },
  );
  const offHangup = io.onHangup?.(() => void service.reload());
  try {
    await untilAborted(io.signal);
  } finally {
    offHangup?.();
    await service.stop();
  }
  return 0;
}
