/** `ferry image create|list|show|delete`: images registered in IMAGE datastores through their drivers. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Image } from '../catalog/catalog.js';
import { FerryError } from '../errors.js';
import { datastoreDump } from '../lifecycle/orchestrator.js';
import { print, table, withCatalog } from './catalog-context.js';
import type { Io } from './io.js';
import { withTicker } from './output.js';

function describe(image: Image, datastore: string): string {
  return `${[
    `image ${image.id} ${image.name} (${image.state})`,
    `  datastore   ${datastore}`,
    `  source      ${image.source ?? '-'}`,
    `  size        ${image.sizeMb ?? '?'} MB, ${image.format ?? '?'}`,
    `  persistent  ${image.persistent ? 'yes' : 'no'}`,
    ...(image.path ? [`  from        ${image.path}`] : []),
    ...(image.error ? [`  error       ${image.error}`] : []),
  ].join('\n')}\n`;
}

export function registerImage(program: Command, io: Io, setStatus: (status: number) => void): void {
  const group = program.command('image').summary('images in the catalog: create (cp, mkfs), list, show, delete (rm)');

  group
    .command('create')
    .summary('register an image: copy a file or URL (cp), or make an empty one (mkfs)')
    .requiredOption('--datastore <ds>', 'IMAGE datastore, id or name')
    .option('--path <file|url>', 'file or http(s) URL to copy in')
    .option('--size <MB>', 'size of a new empty image')
    .option('--fs <type>', 'file system of a new empty image (ext4, xfs …)')
    .option('--format <format>', 'raw or qcow2')
    .option('--name <name>', 'default: the file name')
    .option('--persistent', 'one VM at a time, changes kept')
    .option('--dry-run', 'print the action without running it')
    .addHelpText('after', '\nExamples:\n  $ ferry image create --datastore images --path ./debian.qcow2 --name debian\n  $ ferry image create --datastore images --size 1024 --fs ext4 --name data --persistent\n')
    .action((flags: { datastore: string; path?: string; size?: string; fs?: string; format?: string; name?: string; persistent?: boolean; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const ds = ctx.catalog.datastore(flags.datastore);
        if ((flags.path === undefined) === (flags.size === undefined)) throw new FerryError('E_USAGE', 'give --path FILE|URL or --size MB (one of them)', { hint: 'ferry image create --help' });
        const sizeMb = flags.size === undefined ? undefined : Number(flags.size);
        if (sizeMb !== undefined && !(Number.isInteger(sizeMb) && sizeMb > 0)) throw new FerryError('E_USAGE', `--size ${JSON.stringify(flags.size)} is not a whole number of MB`, { hint: '--size 1024' });
        const path = flags.path === undefined ? undefined : /^[a-z][a-z0-9+.-]*:\/\//i.test(flags.path) ? flags.path : resolve(ctx.io.cwd, flags.path);
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
        };
        if (flags.dryRun) {
          const action = ctx.orchestrator.checkNewImage(input);
          const dump = datastoreDump(ds, { id: -1, name, ...(path ? { path } : {}), ...(sizeMb ? { sizeMb } : {}), ...(flags.fs ? { fs: flags.fs } : {}), persistent: Boolean(flags.persistent) });
          print(ctx, { plan: [{ kind: 'datastore', action, driver: ds.dsMad, dump: dump.xml }] }, () => `${ctx.orchestrator.imagePlan(action, ds, path ?? `${sizeMb} MB ${flags.fs ?? 'raw'}`)}\n${dump.xml}\n`);
          return;
        }
        const image = await withTicker(ctx.io, `image ${name}: ${path !== undefined ? 'copying' : 'creating'}`, ctx.orchestrator.createImage(input));
        print(ctx, image, () => describe(image, `${ds.id} (${ds.name})`));
      }),
    );

  group
    .command('list')
    .summary('list images')
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
    .action((ref: string, flags: { xml?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const image = ctx.catalog.image(ref);
        const ds = ctx.catalog.datastore(image.datastoreId);
        if (flags.xml) ctx.io.stdout.write(`${datastoreDump(ds, image).xml}\n`);
        else print(ctx, image, () => describe(image, `${ds.id} (${ds.name})`));
      }),
    );

  group
    .command('delete')
    .summary('remove an image from its datastore (rm) and the catalog')
    .argument('<image>', 'id or name')
    .option('--dry-run', 'print the action without running it')
    .action((ref: string, flags: { dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const image = ctx.catalog.image(ref);
        const ds = ctx.catalog.datastore(image.datastoreId);
        if (flags.dryRun) {
          print(ctx, { plan: [{ kind: 'datastore', action: 'rm', driver: ds.dsMad, image: image.id }] }, () => `${ctx.orchestrator.imagePlan('rm', ds, image.source ?? '(no source)')}\n`);
          return;
        }
        await ctx.orchestrator.deleteImage(image);
        print(ctx, { deleted: image.id }, () => `deleted image ${image.id} (${image.name})\n`);
      }),
    );
}
