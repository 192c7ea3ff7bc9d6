/** `ferry datastore create|list|show|update|delete`: datastores in the catalog, checked by their own monitor. */
import type { Command } from 'commander';
import type { Datastore } from '../model.js';
import { configProblems } from '../driver/manifest.js';
import { buildXml, cdata } from '../dump/serialize.js';
import { FerryError, toFerryError } from '../errors.js';
import { DS_TYPE_NUMBER } from '../dump/from-catalog.js';
import { checkDatastore, fixDatastore, type CheckReport } from '../lifecycle/check.js';
import { availableMb } from '../lifecycle/capacity.js';
import { monitorDriver, type DatastorePlan } from '../lifecycle/plan.js';
import { print, table, withCatalog, type CatalogContext } from './catalog-context.js';
import type { Io } from './io.js';
import { datastoreDrivers } from '../driver/datastore-drivers.js';
import { datastoreTrend, monitorHealth, type DatastoreTrend } from '../lifecycle/trend.js';
import { errorJson, writeJson } from './output.js';
import { REDACTED, shownDatastore } from '../lifecycle/redact.js';


/** key=value pairs from repeated flags. */
function pairs(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    const at = value.indexOf('=');
    if (at <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value.slice(0, at))) {
      throw new FerryError('E_USAGE', `${flag} ${JSON.stringify(value.includes('=') ? value.slice(0, at + 1) + '...' : value)} is not NAME=VALUE`, { hint: `${flag} NAME=VALUE, NAME letters, digits and _` });
    }
    out[value.slice(0, at)] = value.slice(at + 1);
  }
  return out;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Secret attributes named by --secret, their values read from the environment so they never show on a command line. */
function secretsFrom(env: Record<string, string | undefined>, names: string[] | undefined): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const name of names ?? []) {
    const value = env[name];
    if (value === undefined || value === '') {
      throw new FerryError('E_USAGE', `--secret ${name}: $${name} is not set`, { hint: `export ${name}=... before the command; the value is read from the environment so it never shows on a command line` });
    }
    secrets[name] = value;
  }
  return secrets;
}

export { shownDatastore };

/** The datastore as OpenNebula's `onedatastore show -x` prints it, secrets redacted. */
export function datastoreXml(ds: Datastore): string {
  const template: Record<string, ReturnType<typeof cdata>> = {};
  for (const [name, value] of Object.entries(ds.template)) template[name] = cdata(value);
  for (const name of Object.keys(ds.secrets)) template[name] = cdata(REDACTED);
  return `${buildXml('DATASTORE', {
    ID: String(ds.id),
    NAME: ds.name,
    TYPE: String(DS_TYPE_NUMBER[ds.type]),
    DS_MAD: cdata(ds.dsMad ?? ''),
    TM_MAD: cdata(ds.tmMad),
    BASE_PATH: cdata(ds.basePath),
    TOTAL_MB: String(ds.totalMb ?? 0),
    FREE_MB: String(ds.freeMb ?? 0),
    USED_MB: String(ds.usedMb ?? 0),
    TEMPLATE: template,
  })}\n`;
}

/** The monitor's health and the usage trend, for `datastore show`. */
function describeTrend(health: ReturnType<typeof monitorHealth>, trend: DatastoreTrend): string {
  const mb = (value: number | null): string => (value === null ? '?' : `${value} MB`);
  const lines = [
    `  monitor    ${health.state}${health.failures > 0 ? `, ${health.failures} failed in a row${health.lastError ? `: ${health.lastError}` : ''}` : ''}`,
    `  used       now ${mb(trend.usedMbNow)}, a day ago ${mb(trend.usedMbDayAgo)}, a week ago ${mb(trend.usedMbWeekAgo)}`,
    `  fills      ${trend.fullAt === null ? 'not growing (or too little history to tell)' : `${trend.fullAt.slice(0, 10)}, in ${trend.daysToFull} days at ${trend.growthMbPerDay} MB a day`}`,
  ];
  return `${lines.join('\n')}\n`;
}

function describe(ds: Datastore): string {
  const lines = [
    `datastore ${ds.id} ${ds.name} (${ds.type})`,
    `  ds_mad     ${ds.dsMad ?? '-'}`,
    `  tm_mad     ${ds.tmMad}`,
    `  base_path  ${ds.basePath}`,
    `  capacity   total ${ds.totalMb ?? '?'} MB, used ${ds.usedMb ?? '?'} MB, free ${ds.freeMb ?? '?'} MB (monitored ${ds.monitoredAt ?? 'never'})`,
    `  from       ${ds.origin === 'config' ? 'ferry.yaml' : 'the catalog'}`,
  ];
  for (const [name, value] of Object.entries(ds.template)) lines.push(`  ${name} = ${value}`);
  for (const name of Object.keys(ds.secrets)) lines.push(`  ${name} = ${REDACTED} (secret)`);
  return `${lines.join('\n')}\n`;
}

/**
 * Checks the attributes against what the datastore's drivers say they read
 * (driver.yaml config): secrets given in clear, required ones missing,
 * wrong types. Before anything is recorded or any driver runs.
 */
async function checkDriverConfig(ctx: CatalogContext, name: string, ds: { dsMad: string | null; tmMad: string; template: Record<string, string>; secrets: Record<string, string>; basePath: string }): Promise<void> {
  const problems = (await datastoreDrivers(ctx.runner, ds)).flatMap(({ kind, name: driver, manifest }) => configProblems(manifest, `${kind}/${driver}`, ds));
  if (problems.length > 0) {
    throw new FerryError('E_USAGE', `datastore ${name}: ${problems.join('; ')}`, { hint: 'the drivers\' driver.yaml config: says what they read; see ferry drivers validate' });
  }
}

/** --dry-run of create and update: the datastore as it would be and the monitor action that would check it. */
function printMonitorPlan(ctx: CatalogContext, plan: DatastorePlan): void {
  const ds = plan.datastore;
  const route = monitorDriver(ds);
  const driver = `${route.kind === 'tm' ? 'tm' : 'ds'} ${route.driver ?? '?'}`;
  const monitor = plan.steps.length > 0;
  const steps = plan.steps.map((step) => ({ kind: route.kind, action: step.action, driver: route.driver }));
  print(ctx, { plan: steps, datastore: shownDatastore(ds) }, () => `${monitor ? `# ferry ${driver} monitor of datastore ${ds.name}, then record it\n` : '# record it without a monitor check\n'}${describe(ds)}`);
}

/** What `datastore check` found, one line each. */
function describeCheck(report: CheckReport): string {
  const removed = new Set(report.removed);
  const lines = [
    ...report.unowned.map((each) => {
      const temp = each.temp;
      const what = temp ? `leftover of ferry process ${temp.pid} (gone)${temp.imageId !== undefined ? ` for image ${temp.imageId}` : ''}` : 'not ferry\'s: left alone';
      return `${removed.has(each.path) ? 'removed  ' : 'unowned  '}${each.path}  ${what}`;
    }),
    ...report.missing.map((each) => `missing  image ${each.image} (${each.name}, ${each.state}): its SOURCE ${each.source} does not exist`),
  ];
  const { name, basePath } = report.datastore;
  return lines.length === 0 ? `datastore ${name}: ${basePath} holds nothing the catalog does not know, and every SOURCE exists\n` : `${lines.join('\n')}\n`;
}

/** A datastore's capacity figures as `datastore monitor` prints them. */
function figuresOf(ds: Datastore): Record<string, unknown> {
  return { id: ds.id, name: ds.name, totalMb: ds.totalMb, usedMb: ds.usedMb, freeMb: ds.freeMb, availableMb: availableMb(ds), monitoredAt: ds.monitoredAt };
}

/**
 * `datastore monitor DS|--all`: runs each monitor (journaled) and stores and
 * prints the figures. With --all, a datastore whose monitor fails is
 * reported (stderr, or its `error` in the JSON array) and the others go on;
 * the exit status is then the first failure's.
 */
async function monitorCommand(ctx: CatalogContext, ref: string | undefined, all: boolean): Promise<number> {
  if ((ref === undefined) === !all) throw new FerryError('E_USAGE', 'give a datastore, or --all (one of them)', { hint: 'ferry datastore monitor images, or ferry datastore monitor --all' });
  if (ref !== undefined) {
    const ds = ctx.catalog.datastore(ref);
    await ctx.orchestrator.monitor(ds);
    const done = ctx.catalog.datastore(ds.id);
    print(ctx, figuresOf(done), () => `datastore ${done.id} ${done.name}: total ${done.totalMb} MB, used ${done.usedMb} MB, free ${done.freeMb} MB, available ${availableMb(done)} MB (monitored ${done.monitoredAt})\n`);
    return 0;
  }
  const results: Array<{ ds: Datastore; error?: FerryError }> = [];
  for (const ds of ctx.catalog.listDatastores()) {
    try {
      await ctx.orchestrator.monitor(ds);
      results.push({ ds: ctx.catalog.datastore(ds.id) });
    } catch (error) {
      results.push({ ds, error: toFerryError(error) });
    }
  }
  const ok = results.filter((result) => !result.error);
  const failed = results.filter((result) => result.error);
  const listed = results.map(({ ds, error }) => (error ? { id: ds.id, name: ds.name, error: errorJson(error).error } : figuresOf(ds)));
  // A partial failure is still one envelope: ok false, the first failure as `error`, every datastore under `result`.
  const first = failed[0]?.error;
  if (ctx.json && first) {
    writeJson(ctx.io, { ok: false, result: listed, error: errorJson(first).error });
    return first.exitStatus;
  }
  print(ctx, listed, () =>
    table(['ID', 'NAME', 'TOTAL_MB', 'USED_MB', 'FREE_MB', 'AVAIL_MB', 'MONITORED'], ok.map(({ ds }) => [ds.id, ds.name, ds.totalMb, ds.usedMb, ds.freeMb, availableMb(ds), ds.monitoredAt])),
  );
  if (!ctx.json) for (const { ds, error } of failed) ctx.io.stderr.write(`ferry: datastore ${ds.name}: ${error?.message}${error?.hint ? `\n  hint: ${error.hint}` : ''}\n`);
  return failed[0]?.error?.exitStatus ?? 0;
}

export function registerDatastore(program: Command, io: Io, setStatus: (status: number) => void): void {
  const group = program.command('datastore').summary('datastores in the catalog: create, list, show, monitor, update, delete')
    .addHelpText('after', '\nExamples:\n  $ ferry datastore create images --ds-mad fs --tm-mad qcow2 --base-path /var/lib/ferry/1\n  $ ferry datastore list\n');

  group
    .command('create')
    .summary('add a datastore; its driver\'s monitor must accept it first')
    .argument('<name>')
    .requiredOption('--tm-mad <driver>', 'transfer manager driver')
    .requiredOption('--base-path <dir>', 'where the datastore lives on the hosts')
    .option('--ds-mad <driver>', 'datastore driver (IMAGE and FILE datastores)')
    .option('--type <type>', 'IMAGE, SYSTEM or FILE', 'IMAGE')
    .option('--attr <NAME=VALUE>', 'template attribute (repeatable)', collect)
    .option('--secret <NAME>', 'secret attribute, its value read from $NAME (repeatable): never printed, logged, or put in a dump', collect)
    .option('--no-monitor', 'skip the monitor check (the datastore is refused later if it is wrong)')
    .option('--dry-run', 'check the flags and print the monitor action it would run; record nothing')
    .addHelpText('after', '\nExamples:\n  $ ferry datastore create images --ds-mad fs --tm-mad qcow2 --base-path /var/lib/ferry/1\n  $ ferry datastore create system --type SYSTEM --tm-mad shared --base-path /var/lib/ferry/0\n  $ CEPH_KEY=... ferry datastore create rbd --ds-mad ceph --tm-mad ceph --base-path /var/lib/ferry/2 --secret CEPH_KEY\n')
    .action((name: string, flags: { tmMad: string; basePath: string; dsMad?: string; type: string; attr?: string[]; secret?: string[]; monitor: boolean; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const type = flags.type.toUpperCase();
        if (type !== 'IMAGE' && type !== 'SYSTEM' && type !== 'FILE') throw new FerryError('E_USAGE', `--type ${JSON.stringify(flags.type)} is not IMAGE, SYSTEM or FILE`, { hint: '--type SYSTEM' });
        if (type !== 'SYSTEM' && !flags.dsMad) throw new FerryError('E_USAGE', `an ${type} datastore needs --ds-mad`, { hint: '--ds-mad fs' });
        if (!flags.basePath.startsWith('/')) throw new FerryError('E_USAGE', `--base-path ${JSON.stringify(flags.basePath)} is not an absolute path`, { hint: '--base-path /var/lib/ferry/1' });
        const secrets = secretsFrom(ctx.io.env, flags.secret);
        const input = { name, type, tmMad: flags.tmMad, basePath: flags.basePath, dsMad: flags.dsMad ?? null, template: pairs(flags.attr, '--attr'), secrets } as const;
        await checkDriverConfig(ctx, name, input);
        const plan = ctx.orchestrator.planDatastoreCreate(input, flags.monitor);
        if (flags.dryRun) return printMonitorPlan(ctx, plan);
        const made = await ctx.orchestrator.execute(plan);
        print(ctx, shownDatastore(made), () => describe(made));
      }),
    );

  group
    .command('list')
    .summary('list datastores')
    .addHelpText('after', '\nExamples:\n  $ ferry datastore list\n  $ ferry datastore list --json\n')
    .action((_flags: unknown, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const all = ctx.catalog.listDatastores();
        print(ctx, all.map(shownDatastore), () =>
          table(
            ['ID', 'NAME', 'TYPE', 'DS_MAD', 'TM_MAD', 'BASE_PATH', 'TOTAL_MB', 'FREE_MB'],
            all.map((ds) => [ds.id, ds.name, ds.type, ds.dsMad, ds.tmMad, ds.basePath, ds.totalMb, ds.freeMb]),
          ),
        );
      }),
    );

  group
    .command('show')
    .summary('show a datastore (-x: as XML, like onedatastore show -x)')
    .argument('<datastore>', 'id or name')
    .option('-x, --xml', 'XML output')
    .addHelpText('after', '\nExamples:\n  $ ferry datastore show images\n  $ ferry datastore show 1 -x\n')
    .action((ref: string, flags: { xml?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const ds = ctx.catalog.datastore(ref);
        if (flags.xml) return void ctx.io.stdout.write(datastoreXml(ds));
        const trend = datastoreTrend(ctx.catalog, ds);
        const health = monitorHealth(ctx.catalog.monitorState(ds.id));
        print(ctx, { ...shownDatastore(ds), monitor: health, trend }, () => describe(ds) + describeTrend(health, trend));
      }),
    );

  group
    .command('monitor')
    .summary('run a datastore\'s monitor now (or every datastore\'s): store and print its capacity figures')
    .argument('[datastore]', 'id or name')
    .option('--all', 'every datastore in the catalog')
    .addHelpText('after', '\nExamples:\n  $ ferry datastore monitor images\n  $ ferry datastore monitor --all --json\n')
    .action((ref: string | undefined, flags: { all?: boolean }, command: Command) => {
      // --all reports each failure itself and goes on; the command's status is then the first failure's.
      let failed = 0;
      return withCatalog(command, io, (status) => setStatus(status || failed), async (ctx) => {
        failed = await monitorCommand(ctx, ref, flags.all === true);
      });
    });

  group
    .command('update')
    .summary('change a datastore; the monitor must accept the result')
    .argument('<datastore>', 'id or name')
    .option('--tm-mad <driver>')
    .option('--ds-mad <driver>')
    .option('--base-path <dir>')
    .option('--attr <NAME=VALUE>', 'set a template attribute (repeatable)', collect)
    .option('--secret <NAME>', 'set a secret attribute from $NAME (repeatable)', collect)
    .option('--dry-run', 'check the change and print the monitor action it would run; change nothing')
    .addHelpText('after', '\nExamples:\n  $ ferry datastore update images --attr LIMIT_MB=500000\n  $ ferry datastore update images --base-path /srv/ferry/1 --dry-run\n')
    .action((ref: string, flags: { tmMad?: string; dsMad?: string; basePath?: string; attr?: string[]; secret?: string[]; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const before = ctx.catalog.datastore(ref);
        const secrets = { ...before.secrets, ...secretsFrom(ctx.io.env, flags.secret) };
        const template = { ...before.template, ...pairs(flags.attr, '--attr') };
        // An attribute given as a secret stops being a plain one (it may have been set in clear before).
        for (const name of flags.secret ?? []) delete template[name];
        const patch = {
          ...(flags.tmMad ? { tmMad: flags.tmMad } : {}),
          ...(flags.dsMad ? { dsMad: flags.dsMad } : {}),
          ...(flags.basePath ? { basePath: flags.basePath } : {}),
          template,
          secrets,
        };
        await checkDriverConfig(ctx, before.name, { dsMad: patch.dsMad ?? before.dsMad, tmMad: patch.tmMad ?? before.tmMad, basePath: patch.basePath ?? before.basePath, template: patch.template, secrets });
        const plan = ctx.orchestrator.planDatastoreUpdate(before.id, patch);
        if (flags.dryRun) return printMonitorPlan(ctx, plan);
        const made = await ctx.orchestrator.execute(plan);
        print(ctx, shownDatastore(made), () => describe(made));
      }),
    );

  group
    .command('check')
    .summary('list files in BASE_PATH no record owns and records whose SOURCE is missing; --fix removes ferry\'s leftovers')
    .argument('<datastore>', 'id or name')
    .option('--fix', 'remove leftovers of ferry and its drivers (the .ferry-tmp. naming, their writer gone); nothing else')
    .addHelpText('after', '\nExit status: 0 nothing found, 1 something found (with --fix: also when all of it was removed).\n\nExamples:\n  $ ferry datastore check images\n  $ ferry datastore check images --fix --json\n')
    .action((ref: string, flags: { fix?: boolean }, command: Command) => {
      let anything = false;
      // A clean run's 0 becomes 1 when something was found; a failure keeps its own status.
      return withCatalog(command, io, (status) => setStatus(status === 0 && anything ? 1 : status), (ctx) => {
        const found = ctx.catalog.transaction((tx) => checkDatastore(tx, ref));
        const report = flags.fix ? fixDatastore(found) : found;
        anything = report.unowned.length > 0 || report.missing.length > 0;
        print(ctx, report, () => describeCheck(report));
      });
    });

  group
    .command('delete')
    .summary('remove a datastore that holds no images and no VMs')
    .argument('<datastore>', 'id or name')
    .option('--dry-run', 'check that it can go; remove nothing')
    .addHelpText('after', '\nExamples:\n  $ ferry datastore delete spare --dry-run\n  $ ferry datastore delete spare\n')
    .action((ref: string, flags: { dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const plan = ctx.orchestrator.planDatastoreDelete(ref);
        const ds = plan.datastore;
        if (flags.dryRun) return print(ctx, { plan: plan.steps, deleted: ds.id }, () => `# would delete datastore ${ds.id} (${ds.name}) from the catalog; no driver runs, its files stay\n`);
        await ctx.orchestrator.execute(plan);
        print(ctx, { deleted: ds.id }, () => `deleted datastore ${ds.id} (${ds.name})\n`);
      }),
    );
}
