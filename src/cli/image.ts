/** `ferry image create|list|show|delete`: images registered in IMAGE datastores through their drivers. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Image } from '../model.js';
import { FerryError } from '../errors.js';
import { datastoreDump } from '../dump/from-catalog.js';
import { IMAGE_RECOVER_MODES } from '../lifecycle/image-recover.js';
import { isUrl } from '../lifecycle/images.js';
import type { ImagePlan } from '../lifecycle/plan.js';
import { print, table, withCatalog, type CatalogContext } from './catalog-context.js';
import { perform } from './perform.js';
import { parseWhole } from './input.js';
import { parseSizeMb } from './units.js';
import type { Io } from './io.js';
import { withProgress } from './progress.js';

const MiB = 1024 * 1024;

function absoluteOrUrl(cwd: string, path: string): string {
  return isUrl(path) ? path : resolve(cwd, path);
}

function describe(image: Image, datastore: string): string {
  return `${[
    `image ${image.id} ${image.name} (${image.state})`,
    `  datastore   ${datastore}`,
    `  source      ${image.source ?? '-'}`,
    `  size        ${image.sizeMb ?? '?'} MB, ${image.format ?? '?'}`,
    `  persistent  ${image.persistent ? 'yes' : 'no'}`,
    ...(image.snapshots.length ? [`  snapshots   ${image.snapshots.join(', ')}`] : []),
    ...(image.clonedFrom !== null ? [`  cloned from image ${image.clonedFrom}`] : image.path ? [`  from        ${image.path}`] : []),
    ...(image.error ? [`  error       ${image.error}`] : []),
  ].join('\n')}\n`;
}

/** --dry-run: the plan's datastore action, as `ferry ds` would run it (a new image: with its dump). */
function printPlan(ctx: CatalogContext, plan: ImagePlan): void {
  const ds = plan.datastore;
  const shown = (operation: ImagePlan) => {
    switch (operation.operation) {
      case 'create':
        return { dump: operation.dump };
      case 'clone':
        return { image: operation.original.id };
      case 'delete':
        return { image: operation.image.id };
      default:
        return { image: operation.image.id, snapshot: operation.snapshot };
    }
  };
  const text = plan.steps.map((step) => `# ferry ds ${step.action} (datastore ${ds.id} ${ds.name}, driver ${ds.dsMad ?? '?'}): ${step.why}\n`).join('');
  const none = `# no driver action: image ${plan.image.id} (${plan.image.name}) has no SOURCE; only its record goes\n`;
  print(ctx, { plan: plan.steps.map((step) => ({ kind: step.kind, action: step.action, driver: ds.dsMad, ...shown(plan) })) }, () => (text || none) + (plan.dump ? `${plan.dump}\n` : ''));
}

export function registerImage(program: Command, io: Io, setStatus: (status: number) => void): void {
  const group = program.command('image').summary('images in the catalog: create (cp, mkfs), clone, stat, snapshots, list, show, delete (rm)')
    .addHelpText('after', '\nExamples:\n  $ ferry image create --datastore images --path ./debian.qcow2 --name debian\n  $ ferry image list\n');

  group
    .command('create')
    .summary('register an image: copy a file or URL (cp), or make an empty one (mkfs)')
    .requiredOption('--datastore <ds>', 'IMAGE datastore, id or name')
    .option('--path <file|url>', 'file or http(s) URL to copy in')
    .option('--size <size>', 'size of a new empty image: MB, or with a unit (512M, 1G, 2T)')
    .option('--fs <type>', 'file system of a new empty image (ext4, xfs …)')
    .option('--format <format>', 'raw or qcow2')
    .option('--name <name>', 'default: the file name')
    .option('--persistent', 'one VM at a time, changes kept')
    .option('--force', 'create it even when it does not fit the datastore (the override is journaled)')
    .option('--dry-run', 'print the action without running it')
    .addHelpText('after', '\nExamples:\n  $ ferry image create --datastore images --path ./debian.qcow2 --name debian\n  $ ferry image create --datastore images --size 1G --fs ext4 --name data --persistent\n')
    .action((flags: { datastore: string; path?: string; size?: string; fs?: string; format?: string; name?: string; persistent?: boolean; force?: boolean; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const ds = ctx.catalog.datastore(flags.datastore);
        if ((flags.path === undefined) === (flags.size === undefined)) throw new FerryError('E_USAGE', 'give --path FILE|URL or --size SIZE (one of them)', { hint: 'ferry image create --help' });
        const sizeMb = flags.size === undefined ? undefined : parseSizeMb(flags.size, '--size');
        const path = flags.path === undefined ? undefined : absoluteOrUrl(ctx.io.cwd, flags.path);
        const name = flags.name ?? (path ? (path.split('/').pop() ?? 'image').replace(/\.(qcow2|raw|img|iso)$/i, '') : undefined);
        if (!name) throw new FerryError('E_USAGE', 'an empty image needs --name', { hint: '--name data' });
        const input = {
          datastore: ds,
          name,
          ...(path !== undefined ? { path } : {}),
          ...(sizeMb !== undefined ? { sizeMb } : {}),
          ...(flags.fs ? { fs: flags.fs } : {}),
          ...(flags.format ? { format: flags.format } : {}),
          ...(flags.persistent ? { persistent: true } : {}),
          ...(flags.force ? { force: true } : {}),
        };
        const plan = ctx.orchestrator.planImageCreate(input);
        if (flags.dryRun) return printPlan(ctx, plan);
        const total = path !== undefined && !isUrl(path) ? Math.ceil(statSync(path).size / MiB) : sizeMb;
        const image = await withProgress(ctx.io, `image ${name}: ${path !== undefined ? 'copying' : 'creating'}`, perform(ctx, command, plan), { dir: ds.basePath, totalMb: total ?? null });
        if (!image) return;
        print(ctx, image, () => describe(image, `${ds.id} (${ds.name})`));
      }),
    );

  group
    .command('clone')
    .summary('copy an image to a new one in the same datastore (clone)')
    .argument('<image>', 'id or name of the image to copy')
    .requiredOption('--name <name>', 'name of the new image')
    .option('--persistent', 'the copy is persistent (default: as the original)')
    .option('--no-persistent', 'the copy is not persistent')
    .option('--force', 'clone it even when it does not fit the datastore (the override is journaled)')
    .option('--dry-run', 'print the action without running it')
    .addHelpText('after', '\nExamples:\n  $ ferry image clone debian --name debian-test\n  $ ferry image clone 3 --name data-copy --no-persistent --json\n')
    .action((ref: string, flags: { name: string; persistent?: boolean; force?: boolean; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const plan = ctx.orchestrator.planImageClone(ref, { name: flags.name, ...(flags.persistent !== undefined ? { persistent: flags.persistent } : {}), ...(flags.force ? { force: true } : {}) });
        if (flags.dryRun) return printPlan(ctx, plan);
        const ds = plan.datastore;
        const clone = await withProgress(ctx.io, `image ${flags.name}: cloning`, perform(ctx, command, plan), { dir: ds.basePath, totalMb: plan.original.sizeMb });
        if (!clone) return;
        print(ctx, clone, () => describe(clone, `${ds.id} (${ds.name})`));
      }),
    );

  group
    .command('stat')
    .summary('the size in MB of an image (its SOURCE), or of a file or URL before it is registered')
    .argument('[image]', 'id or name (the size found is stored in the catalog)')
    .option('--datastore <ds>', 'with --path: the datastore whose driver measures it')
    .option('--path <file|url>', 'a file or http(s) URL to measure instead')
    .addHelpText('after', '\nExamples:\n  $ ferry image stat debian\n  $ ferry image stat --datastore images --path ./debian.qcow2\n')
    .action((ref: string | undefined, flags: { datastore?: string; path?: string }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        if ((ref === undefined) === (flags.path === undefined)) throw new FerryError('E_USAGE', 'give an image, or --datastore DS --path FILE|URL (one of them)', { hint: 'ferry image stat --help' });
        if (ref !== undefined) {
          const image = await ctx.orchestrator.statImage(ref);
          print(ctx, { id: image.id, name: image.name, sizeMb: image.sizeMb }, () => `${image.sizeMb} MB\n`);
          return;
        }
        if (flags.datastore === undefined) throw new FerryError('E_USAGE', '--path needs --datastore: its driver measures the file', { hint: 'ferry image stat --datastore images --path FILE' });
        const path = absoluteOrUrl(ctx.io.cwd, flags.path as string);
        const sizeMb = await ctx.orchestrator.statPath(flags.datastore, path);
        print(ctx, { path, sizeMb }, () => `${sizeMb} MB\n`);
      }),
    );

  for (const operation of ['revert', 'delete', 'flatten'] as const) {
    const what = { revert: 'make the image\'s contents those of a snapshot (snapshots kept)', delete: 'delete one snapshot of an image', flatten: 'make the image\'s contents those of a snapshot and drop every snapshot' }[operation];
    group
      .command(`snapshot-${operation}`)
      .summary(`${what} (snap_${operation})`)
      .argument('<image>', 'id or name (READY: not in use by a VM)')
      .argument('<snapshot>', 'snapshot id (ferry image show lists them)')
      .option('--dry-run', 'print the action without running it')
      .addHelpText('after', `\nExample:\n  $ ferry image snapshot-${operation} data 0\n`)
      .action((ref: string, snapshotText: string, flags: { dryRun?: boolean }, command: Command) =>
        withCatalog(command, io, setStatus, async (ctx) => {
          const snapshot = parseWhole(snapshotText, 'snapshot id', 'ferry image show IMAGE lists the snapshot ids');
          const plan = ctx.orchestrator.planImageSnapshot(ref, operation, snapshot);
          if (flags.dryRun) return printPlan(ctx, plan);
          const image = await perform(ctx, command, plan);
          if (image) print(ctx, image, () => describe(image, String(image.datastoreId)));
        }),
      );
  }

  group
    .command('list')
    .summary('list images')
    .addHelpText('after', '\nExamples:\n  $ ferry image list\n  $ ferry image list --json\n')
    .action((_flags: unknown, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const images = ctx.catalog.listImages();
        print(ctx, images, () =>
          table(['ID', 'NAME', 'DATASTORE', 'STATE', 'SIZE_MB', 'FORMAT', 'PERSISTENT', 'SOURCE'], images.map((image) => [image.id, image.name, image.datastoreId, image.state, image.sizeMb, image.format, image.persistent ? 'yes' : 'no', image.source])),
        );
      }),
    );

  group
    .command('show')
    .summary('show an image (-x: its action dump as XML)')
    .argument('<image>', 'id or name')
    .option('-x, --xml', 'XML output')
    .addHelpText('after', '\nExamples:\n  $ ferry image show debian\n  $ ferry image show 3 -x\n')
    .action((ref: string, flags: { xml?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const image = ctx.catalog.image(ref);
        const ds = ctx.catalog.datastore(image.datastoreId);
        if (flags.xml) ctx.io.stdout.write(`${datastoreDump(ds, image).xml}\n`);
        else print(ctx, image, () => describe(image, `${ds.id} (${ds.name})`));
      }),
    );

  group
    .command('recover')
    .summary('continue an image whose operation failed (ERROR) or whose ferry was killed (LOCKED, DELETING)')
    .argument('<image>', 'id or name')
    .option('--retry', 'remove what the operation left, then run it again (cp, mkfs, clone, rm)')
    .option('--success', 'mark the operation done (an image with a SOURCE becomes READY; an rm removes the record)')
    .option('--failure', 'remove what the operation wrote (its SOURCE too); the image stays ERROR, saying so')
    .option('--delete', 'remove the image: what the operation left, its SOURCE (rm) and its record')
    .option('--dry-run', 'print what would be removed and run')
    .addHelpText('after', '\nExamples:\n  $ ferry image recover 6 --retry\n  $ ferry image recover big2 --delete --dry-run\n')
    .action((ref: string, flags: { retry?: boolean; success?: boolean; failure?: boolean; delete?: boolean; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const modes = IMAGE_RECOVER_MODES.filter((mode) => flags[mode]);
        if (modes.length !== 1) throw new FerryError('E_USAGE', 'say how to recover: exactly one of --retry, --success, --failure, --delete', { hint: `ferry image recover ${ref} --retry` });
        const plan = ctx.orchestrator.planImageRecover(ref, modes[0] as (typeof IMAGE_RECOVER_MODES)[number]);
        const { image, datastore: ds } = plan;
        if (flags.dryRun) {
          const lines = [`# image recover ${image.id} --${plan.mode} (dry run): its ${plan.operation} did not finish`, ...plan.leftovers.map((path) => `# remove leftover ${path}`), ...plan.steps.map((step) => `# ferry ds ${step.action} (datastore ${ds.id} ${ds.name}, driver ${ds.dsMad ?? '?'}): ${step.why}`)];
          return print(ctx, { operation: plan.operation, leftovers: plan.leftovers, plan: plan.steps.map((step) => ({ kind: step.kind, action: step.action, driver: ds.dsMad, image: image.id })) }, () => `${lines.join('\n')}\n`);
        }
        const done = await perform(ctx, command, plan);
        if (!done) return;
        const gone = !ctx.catalog.findImage(done.id);
        print(ctx, gone ? { deleted: done.id } : done, () => (gone ? `deleted image ${done.id} (${done.name})\n` : describe(done, `${ds.id} (${ds.name})`)));
      }),
    );

  group
    .command('delete')
    .summary('remove an image from its datastore (rm) and the catalog')
    .argument('<image>', 'id or name')
    .option('--dry-run', 'print the action without running it')
    .addHelpText('after', '\nExamples:\n  $ ferry image delete debian-test --dry-run\n  $ ferry image delete debian-test\n')
    .action((ref: string, flags: { dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const plan = ctx.orchestrator.planImageDelete(ref);
        if (flags.dryRun) return printPlan(ctx, plan);
        const image = await perform(ctx, command, plan);
        if (!image) return;
        print(ctx, { deleted: image.id }, () => `deleted image ${image.id} (${image.name})\n`);
      }),
    );
}
