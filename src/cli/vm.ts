/** `ferry vm create|stop|resume|migrate|shutdown|terminate|recover|show|list`: VM storage lifecycles from the catalog. */
import { NameSchema } from '../contract/names.js';
import type { Command } from 'commander';
import * as v from 'valibot';
import type { PlanStep, Vm, VmDisk } from '../model.js';
import { loadYamlFile } from '../config/yaml.js';
import { buildXml } from '../dump/serialize.js';
import { FerryError } from '../errors.js';
import { transferLine, type NewVmInput, type OperationArgs, type VmOperation } from '../lifecycle/plan.js';
import { print, table, withCatalog, type CatalogContext } from './catalog-context.js';
import { parseWhole } from './input.js';
import { perform } from './perform.js';
import { parseSizeMb, sizeMbOf } from './units.js';
import type { Io } from './io.js';
import { withProgress } from './progress.js';

const ref = v.union([v.pipe(v.number(), v.integer(), v.minValue(0)), v.pipe(v.string(), v.minLength(1))]);
/** MB as a number, or a size with a unit ("512M", "1G"), as --size takes it. */
const size = v.union([
  v.pipe(v.number(), v.integer(), v.minValue(1)),
  v.pipe(
    v.string(),
    v.check((text) => sizeMbOf(text) !== undefined, 'a size: MB, or a number with a unit (512M, 1G, 2T)'),
    v.transform((text) => sizeMbOf(text) as number),
  ),
]);

/** vm.yaml: name, host, system datastore, and disks (image, volatile, swap, context). */
export const VmFileSchema = v.strictObject({
  name: NameSchema,
  host: v.pipe(v.string(), v.minLength(1)),
  system_datastore: ref,
  disks: v.pipe(
    v.array(
      v.union([
        v.strictObject({ image: ref }),
        v.strictObject({ volatile: size, format: v.optional(v.picklist(['raw', 'qcow2'])) }),
        v.strictObject({ swap: size }),
        v.strictObject({ context: v.array(v.pipe(v.string(), v.minLength(1))) }),
      ]),
    ),
    v.minLength(1),
  ),
});

function inputOf(file: v.InferOutput<typeof VmFileSchema>): NewVmInput {
  return {
    name: file.name,
    host: file.host,
    systemDs: file.system_datastore,
    disks: file.disks.map((disk) => {
      if ('image' in disk) return { kind: 'image' as const, image: disk.image };
      if ('volatile' in disk) return { kind: 'volatile' as const, sizeMb: disk.volatile, ...(disk.format ? { format: disk.format } : {}) };
      if ('swap' in disk) return { kind: 'swap' as const, sizeMb: disk.swap };
      return { kind: 'context' as const, files: disk.context };
    }),
  };
}

/** Where disk and snapshot ids are listed. */
const HINT = 'ferry vm show VM lists disks and snapshots';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A VM as shown: each image disk with its image's name too (null once the image is deleted), so nobody has to look an id up. */
type ShownVm = Omit<Vm, 'disks'> & { disks: Array<VmDisk & { imageName?: string | null }> };

function shownVm(ctx: CatalogContext, vm: Vm): ShownVm {
  return { ...vm, disks: vm.disks.map((disk) => (disk.imageId === null ? disk : { ...disk, imageName: ctx.catalog.findImage(disk.imageId)?.name ?? null })) };
}

/** Prints a VM: its record (image names added) with --json, else describe's lines. */
function printVm(ctx: CatalogContext, vm: Vm): void {
  const shown = shownVm(ctx, vm);
  print(ctx, shown, () => describe(shown));
}

function describe(vm: ShownVm): string {
  const lines = [`vm ${vm.id} ${vm.name}: ${vm.state} on ${vm.host} (system datastore ${vm.systemDsId})`];
  if (vm.error) lines.push(`  error: ${vm.error}`);
  if (vm.state === 'FAILED' && vm.plan) {
    lines.push(`  ${vm.operation}: ${vm.step ?? 0} of ${vm.plan.length} steps done; next:`);
    for (const planStep of vm.plan.slice(vm.step ?? 0)) lines.push(`    ${transferLine(planStep)}`);
    lines.push(`  recover: ferry vm recover ${vm.id} --retry | --success | --failure, or remove it: ferry vm terminate ${vm.id}`);
  }
  for (const disk of vm.disks) {
    const what = disk.kind === 'image' ? `image ${disk.imageId}${disk.imageName ? ` ${disk.imageName}` : ''} (${disk.mode})` : disk.kind === 'context' ? `context ${(disk.files ?? []).join(' ')}` : `${disk.kind} ${disk.sizeMb} MB`;
    lines.push(`  disk.${disk.diskId}  ${what}  ${disk.target}${disk.snapshots.length ? `  snapshots ${disk.snapshots.join(', ')}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs a VM operation and prints the VM, or with `dryRun` prints its plan (headed `label`) and runs nothing. */
async function runOperation(ctx: CatalogContext, command: Command, vmRef: string, operation: VmOperation, args: OperationArgs, dryRun: boolean, label: string): Promise<void> {
  const plan = ctx.orchestrator.planVm(vmRef, operation, args);
  if (dryRun) return printPlan(ctx, plan.steps, `${label} ${plan.vm.id} (dry run)`);
  const vm = await perform(ctx, command, plan);
  if (vm) printVm(ctx, vm);
}

/** Prints a plan as transfer-file lines (what `ferry tm transfer` runs). */
function printPlan(ctx: CatalogContext, steps: PlanStep[], header: string): void {
  print(ctx, { plan: steps.map((planStep) => ({ ...planStep, line: transferLine(planStep) })) }, () => `# ${header}\n${steps.map((planStep) => `${transferLine(planStep)}\n`).join('')}`);
}

export function registerVm(program: Command, io: Io, setStatus: (status: number) => void): void {
  const group = program.command('vm').summary('VM storage: create, deploy, stop, resume, migrate, shutdown, terminate, disk-saveas, disk-snapshot, recover, show, list')
    .addHelpText('after', '\nExamples:\n  $ ferry vm create vm.yaml\n  $ ferry vm stop vm01\n  $ ferry vm list\n');

  group
    .command('create')
    .summary('record a VM and deploy its disks on a host (clone, ln, mkimage, mkswap, context)')
    .argument('[vm.yaml]', 'VM description (or use the flags)')
    .option('--name <name>')
    .option('--host <host>')
    .option('--system-ds <ds>', 'SYSTEM datastore, id or name')
    .option('--disk <image>', 'a disk from an image, id or name (repeatable; persistent images are linked, others cloned)', collect)
    .option('--volatile <size>', 'a volatile disk: MB, or with a unit (512M, 1G); repeatable', collect)
    .option('--dry-run', 'print the plan as transfer-file lines; run nothing')
    .addHelpText(
      'after',
      `
vm.yaml:
  name: vm01
  host: host01
  system_datastore: system
  disks:
    - image: debian        # non-persistent: cloned
    - image: data          # persistent: linked
    - volatile: 512
      format: raw
    - swap: 256
    - context: [/srv/ctx/init.sh]

Examples:
  $ ferry vm create vm.yaml
  $ ferry vm create --name vm01 --host host01 --system-ds system --disk debian --disk data --dry-run
`,
    )
    .action((file: string | undefined, flags: { name?: string; host?: string; systemDs?: string; disk?: string[]; volatile?: string[]; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        let input: NewVmInput;
        if (file !== undefined) {
          input = inputOf(await loadYamlFile(file.startsWith('/') ? file : `${ctx.io.cwd}/${file}`, VmFileSchema, 'E_USAGE', `fix ${file}: see ferry vm create --help for its keys`));
        } else {
          if (!flags.name || !flags.host || !flags.systemDs) throw new FerryError('E_USAGE', 'vm create needs a vm.yaml, or --name, --host and --system-ds', { hint: 'ferry vm create --help' });
          const volatile = (flags.volatile ?? []).map((text) => ({ kind: 'volatile' as const, sizeMb: parseSizeMb(text, '--volatile') }));
          input = { name: flags.name, host: flags.host, systemDs: flags.systemDs, disks: [...(flags.disk ?? []).map((image) => ({ kind: 'image' as const, image })), ...volatile] };
          if (input.disks.length === 0) throw new FerryError('E_USAGE', 'a VM needs at least one disk', { hint: '--disk IMAGE or --volatile SIZE' });
        }
        const plan = ctx.orchestrator.planNewVm(input);
        if (flags.dryRun) return printPlan(ctx, plan.steps, `vm create ${input.name} on ${input.host} (dry run)`);
        const vm = await perform(ctx, command, plan);
        if (vm) printVm(ctx, vm);
      }),
    );

  const operation = (name: VmOperation, summary: string, withTarget: boolean, command: string = name): void => {
    const sub = group.command(command).summary(summary).argument('<vm>', 'id or name');
    if (withTarget) sub.argument('<host>', 'destination host');
    sub.option('--dry-run', 'print the plan as transfer-file lines; run nothing');
    const example = `ferry vm ${command} vm01${withTarget ? ' host02' : ''}`;
    sub.addHelpText('after', `\nExamples:\n  $ ${example} --dry-run\n  $ ${example}\n`);
    sub.action((vmRef: string, ...rest: unknown[]) => {
      const target = withTarget ? (rest[0] as string) : undefined;
      const flags = (withTarget ? rest[1] : rest[0]) as { dryRun?: boolean };
      const command = rest[rest.length - 1] as Command;
      return withCatalog(command, io, setStatus, (ctx) => runOperation(ctx, command, vmRef, name, target !== undefined ? { target } : {}, flags.dryRun === true, `vm ${name}`));
    });
  };
  operation('create', 'deploy a PENDING VM (one whose create was rolled back) on its host', false, 'deploy');
  operation('stop', 'move the VM\'s disks and folder to the frontend', false);
  operation('resume', 'move a stopped VM back to its host', false);
  operation('migrate', 'move the VM to another host (cold)', true);
  operation('shutdown', 'delete non-persistent disks, move persistent ones back, delete the VM folder', false);

  group
    .command('terminate')
    .summary('remove a VM from any state (PENDING, FAILED, RUNNING, STOPPED, interrupted): its disks torn down, DONE')
    .argument('<vm>', 'id or name')
    .option('--hard', 'go on past a failing step (each journaled as skipped; the VM\'s error lists them)')
    .option('--dry-run', 'print the plan as transfer-file lines; run nothing')
    .addHelpText(
      'after',
      `
Persistent disks go back to their image (mvds), the others and the VM folder
are deleted, wherever the disks are (host, or frontend when stopped). A failed
or interrupted operation is first finished (shutdown) or undone (its rollback).
The VM ends DONE, its images are released and its name may be used again.

Examples:
  $ ferry vm terminate vm01 --dry-run
  $ ferry vm terminate vm01
  $ ferry vm terminate 7 --hard
`,
    )
    .action((vmRef: string, flags: { hard?: boolean; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => runOperation(ctx, command, vmRef, 'terminate', flags.hard ? { hard: true } : {}, flags.dryRun === true, `vm terminate${flags.hard ? ' --hard' : ''}`)),
    );

  group
    .command('disk-saveas')
    .summary('save a disk (or one of its snapshots) as a new image (cpds)')
    .argument('<vm>', 'id or name')
    .argument('<disk>', 'disk id (ferry vm show lists them)')
    .requiredOption('--name <name>', 'name of the new image')
    .option('--datastore <ds>', 'IMAGE datastore of the new image (default: the disk image\'s)')
    .option('--snapshot <id>', 'save this snapshot of the disk instead of its current state')
    .option('--force', 'save it even when it does not fit the datastore (the override is journaled)')
    .option('--dry-run', 'print the plan; run nothing')
    .addHelpText('after', '\nExamples:\n  $ ferry vm disk-saveas vm01 0 --name debian-configured\n  $ ferry vm disk-saveas vm01 2 --name scratch --datastore images --snapshot 0\n')
    .action((vmRef: string, diskText: string, flags: { name: string; datastore?: string; snapshot?: string; force?: boolean; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const input = {
          name: flags.name,
          ...(flags.datastore !== undefined ? { datastore: flags.datastore } : {}),
          ...(flags.snapshot !== undefined ? { snapshot: parseWhole(flags.snapshot, '--snapshot', HINT) } : {}),
          ...(flags.force ? { force: true } : {}),
        };
        const disk = parseWhole(diskText, 'disk id', HINT);
        const plan = ctx.orchestrator.planSaveAs(vmRef, disk, input);
        const vm = plan.vm;
        if (flags.dryRun) return printPlan(ctx, plan.steps, `vm disk-saveas ${vm.id} ${disk} (dry run)`);
        const image = await withProgress(ctx.io, `disk ${disk} of VM ${vm.id}: saving as ${flags.name}`, perform(ctx, command, plan), { dir: plan.datastore.basePath, totalMb: plan.sizeMb });
        if (!image) return;
        print(ctx, image, () => `saved disk ${disk} of VM ${vm.id} as image ${image.id} (${image.name}): ${image.source}, ${image.sizeMb ?? '?'} MB\n`);
      }),
    );

  const snapshot = group.command('disk-snapshot').summary('disk snapshots: create, revert, delete (snap_create, snap_revert, snap_delete)')
    .addHelpText('after', '\nExamples:\n  $ ferry vm disk-snapshot create vm01 0\n  $ ferry vm disk-snapshot revert vm01 0 0\n');
  for (const action of ['create', 'revert', 'delete'] as const) {
    const sub = snapshot
      .command(action)
      .summary({ create: 'take a snapshot of a disk (the next id unless --id)', revert: 'make a disk\'s contents a snapshot\'s', delete: 'delete a snapshot of a disk' }[action])
      .argument('<vm>', 'id or name')
      .argument('<disk>', 'disk id');
    if (action === 'create') sub.option('--id <id>', 'the snapshot id to use');
    else sub.argument('<snapshot>', 'snapshot id');
    sub
      .option('--dry-run', 'print the plan as transfer-file lines; run nothing')
      .addHelpText('after', `\nExample:\n  $ ferry vm disk-snapshot ${action} vm01 0${action === 'create' ? '' : ' 0'}\n`)
      .action((vmRef: string, diskText: string, ...rest: unknown[]) => {
        const snapText = action === 'create' ? undefined : (rest[0] as string);
        const flags = (action === 'create' ? rest[0] : rest[1]) as { id?: string; dryRun?: boolean };
        const command = rest[rest.length - 1] as Command;
        return withCatalog(command, io, setStatus, async (ctx) => {
          const text = snapText ?? flags.id;
          const args = { disk: parseWhole(diskText, 'disk id', HINT), ...(text !== undefined ? { snapshot: parseWhole(text, 'snapshot id', HINT) } : {}) };
          return runOperation(ctx, command, vmRef, `disk-snapshot-${action}`, args, flags.dryRun === true, `vm disk-snapshot ${action}`);
        });
      });
  }

  group
    .command('recover')
    .summary('continue a FAILED VM: --retry from the failed step, --success to mark it done, --failure to roll back')
    .argument('<vm>', 'id or name')
    .option('--retry', 'run the failed operation again from the step that failed (steps done are not redone)')
    .option('--success', 'mark the operation done (after fixing it by hand)')
    .option('--failure', 'undo the steps that ran and return to the state before the operation')
    .option('--dry-run', 'print what would run')
    .addHelpText('after', '\nTo remove the VM instead, whatever its state: ferry vm terminate VM.\n\nExamples:\n  $ ferry vm recover vm01 --retry\n  $ ferry vm recover vm01 --failure --dry-run\n')
    .action((vmRef: string, flags: { retry?: boolean; success?: boolean; failure?: boolean; dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const modes = (['retry', 'success', 'failure'] as const).filter((mode) => flags[mode]);
        if (modes.length !== 1) throw new FerryError('E_USAGE', 'say how to recover: exactly one of --retry, --success, --failure', { hint: `ferry vm recover ${vmRef} --retry` });
        const mode = modes[0] as 'retry' | 'success' | 'failure';
        const plan = ctx.orchestrator.planRecover(vmRef, mode);
        if (flags.dryRun) return printPlan(ctx, plan.steps, `vm recover ${vmRef} --${mode} (dry run)`);
        const vm = await perform(ctx, command, plan);
        if (vm) printVm(ctx, vm);
      }),
    );

  group
    .command('show')
    .summary('show a VM, its disks, and what failed')
    .argument('<vm>', 'id or name')
    .option('-x, --xml', 'XML output')
    .option('--journal', 'with every driver action run for it')
    .addHelpText('after', '\nExamples:\n  $ ferry vm show vm01\n  $ ferry vm show 7 --journal\n  $ ferry vm show vm01 -x\n')
    .action((vmRef: string, flags: { xml?: boolean; journal?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const vm = ctx.catalog.vm(vmRef);
        const journal = flags.journal ? ctx.catalog.journal(`vm:${vm.id}`) : undefined;
        const shown = shownVm(ctx, vm);
        if (flags.xml) {
          // IMAGE and IMAGE_ID, as OpenNebula's VM DISK has them.
          const disks = shown.disks.map((disk) => ({ DISK_ID: String(disk.diskId), TYPE: disk.kind, ...(disk.imageName ? { IMAGE: disk.imageName } : {}), ...(disk.imageId !== null ? { IMAGE_ID: String(disk.imageId) } : {}), TARGET: disk.target }));
          ctx.io.stdout.write(`${buildXml('VM', { ID: String(vm.id), NAME: vm.name, STATE: vm.state, HOST: vm.host, SYSTEM_DS_ID: String(vm.systemDsId), DISK: disks })}\n`);
          return;
        }
        print(ctx, journal ? { ...shown, journal } : shown, () =>
          describe(shown) + (journal ? journal.map((entry) => `  ${entry.at} ${entry.ok ? 'ok  ' : 'FAIL'} ${entry.operation} ${entry.action.toUpperCase()} ${entry.driver} ${entry.args.join(' ')}${entry.message ? `: ${entry.message}` : ''}\n`).join('') : ''),
        );
      }),
    );

  group
    .command('list')
    .summary('list VMs (those not DONE, unless --all)')
    .option('--all', 'DONE VMs too (shut down or terminated: their names may be taken again)')
    .addHelpText('after', '\nExamples:\n  $ ferry vm list\n  $ ferry vm list --all --json\n')
    .action((flags: { all?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const vms = ctx.catalog.listVms().filter((vm) => flags.all || vm.state !== 'DONE');
        print(ctx, vms, () => table(['ID', 'NAME', 'STATE', 'HOST', 'SYSTEM_DS', 'DISKS', 'ERROR'], vms.map((vm) => [vm.id, vm.name, vm.state, vm.host, vm.systemDsId, vm.disks.length, vm.error])));
      }),
    );
}
