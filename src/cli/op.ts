/** `ferry op`: the operations queued to workers on a PostgreSQL catalog (docs/workers.md): show, wait, list. */
import type { Command } from 'commander';
import { FerryError } from '../errors.js';
import { printable } from '../log/printable.js';
import type { Operation } from '../model.js';
import { print, table, withCatalog } from './catalog-context.js';
import { parseWhole } from './input.js';
import type { Io } from './io.js';
import type { SetStatus } from './command.js';

const idOf = (text: string): number => parseWhole(text, 'operation id', 'ferry op list shows the ids');

/** An operation as `op show` prints it. */
function describe(op: Operation): string {
  const lines = [
    `operation ${op.id}: ${op.operation} ${op.subject}  ${op.state.toUpperCase()}`,
    `  queued   ${op.createdAt} by ${op.createdBy}`,
    ...(op.startedAt ? [`  started  ${op.startedAt} on ${op.worker ?? '?'}${op.attempts > 1 ? ` (taken up ${op.attempts} times: a worker stopped in it)` : ''}`] : []),
    ...(op.steps !== null ? [`  steps    ${op.stepDone === null ? 0 : op.stepDone + 1} of ${op.steps} done${op.state === 'running' && op.stepStarted !== null ? `; step ${op.stepStarted + 1} running` : ''}`] : []),
    ...(op.finishedAt ? [`  ended    ${op.finishedAt}`] : []),
    ...(op.scope.length ? [`  touches  ${op.scope.join(' ')}`] : []),
    ...(op.resultId !== null ? [`  result   ${op.subject.split(':')[0] === 'vm' ? 'VM' : 'image'} ${op.resultId}`] : []),
    ...(op.error ? [`  error    ${op.errorCode ?? ''} ${op.error}`, ...(op.errorHint ? [`  hint     ${op.errorHint}`] : [])] : []),
  ];
  return `${printable(lines.join('\n'))}\n`;
}

export function registerOp(program: Command, io: Io, setStatus: SetStatus): void {
  const group = program
    .command('op')
    .summary('operations queued to ferry workers (PostgreSQL catalog): show, wait, list')
    .addHelpText('after', '\nExamples:\n  $ ferry --async vm stop vm01\n  $ ferry op wait 12\n  $ ferry op list --open\n');

  group
    .command('show')
    .summary('show a queued operation: its state, worker, steps and error')
    .argument('<id>', 'operation id')
    .addHelpText('after', '\nExamples:\n  $ ferry op show 12\n  $ ferry op show 12 --json\n')
    .action((text: string, _flags: unknown, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const op = ctx.catalog.operation(idOf(text));
        print(ctx, op, () => describe(op));
      }),
    );

  group
    .command('wait')
    .summary('wait for a queued operation to end; exits as the operation\'s command would have')
    .argument('<id>', 'operation id')
    .addHelpText('after', '\nExit status: 0 when it is done; when it failed, the status of its error (see ferry --help).\n\nExamples:\n  $ ferry op wait 12\n  $ ferry op wait 12 --json\n')
    .action((text: string, _flags: unknown, command: Command) =>
      withCatalog(command, io, setStatus, async (ctx) => {
        const { operationError, waitForOperation } = await import('../queue/wait.js');
        const op = await waitForOperation(ctx.catalog, idOf(text), {
          ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
          ...(ctx.json ? {} : { onEntry: (entry) => ctx.io.stderr.write(printable(`  ${entry.ok ? 'ok  ' : 'FAIL'} ${entry.action.toUpperCase()} ${entry.driver} ${entry.args.join(' ')}`) + '\n') }),
        });
        if (op.state === 'failed') throw operationError(op);
        print(ctx, op, () => describe(op));
      }),
    );

  group
    .command('list')
    .summary('list operations, newest first')
    .option('--open', 'only those queued or running')
    .option('--subject <subject>', 'only those of one resource (vm:7, image:3)')
    .option('--limit <n>', 'at most this many (default 100)')
    .addHelpText('after', '\nExamples:\n  $ ferry op list\n  $ ferry op list --open --json\n  $ ferry op list --subject vm:7\n')
    .action((flags: { open?: boolean; subject?: string; limit?: string }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const limit = flags.limit === undefined ? 100 : parseWhole(flags.limit, '--limit', 'a whole number, 1 to 10000');
        if (limit < 1 || limit > 10_000) throw new FerryError('E_USAGE', `--limit ${limit} is out of range`, { hint: 'give 1 to 10000' });
        const ops = ctx.catalog.listOperations({ ...(flags.open ? { open: true } : {}), ...(flags.subject ? { subject: flags.subject } : {}), limit });
        print(ctx, ops, () => table(['ID', 'OPERATION', 'SUBJECT', 'STATE', 'WORKER', 'QUEUED', 'ERROR'], ops.map((op) => [op.id, op.operation, op.subject, op.state, op.worker, op.createdAt, op.error ? printable(op.error).slice(0, 60) : null])));
      }),
    );
}
