/** `ferry mad datastore|tm`: the driver-process protocol on stdin/stdout, for an OpenNebula-style core. */
import type { Command } from 'commander';
import { isName } from '../contract/names.js';
import { isKind } from '../contract/table.js';
import { FerryError } from '../errors.js';
import { driverFolders, serveMad } from '../protocol/mad.js';
import { run, type CommandRun, type SetStatus } from './command.js';
import { parseSeconds } from './input.js';
import type { Io } from './io.js';

/** A -d or -s list: driver names, each a plain folder name under the remotes folder. */
function list(value: string | undefined, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  const bad = names.find((name) => !isName(name));
  if (bad !== undefined || names.length === 0) {
    throw new FerryError('E_USAGE', `${flag} ${JSON.stringify(value)}: ${bad === undefined ? 'names no driver' : `${JSON.stringify(bad)} is not a driver name`}`, {
      hint: `${flag} takes driver folder names under the remotes folder, comma-separated: ${flag} fs,ceph`,
    });
  }
  return names;
}

async function* splitLines(io: Io): AsyncIterable<string> {
  if (io.stdinLines) {
    yield* io.stdinLines();
    return;
  }
  yield* (await io.readStdin()).split('\n');
}

/**
 * Reply lines gathered for one turn of the event loop and written together:
 * one write call per burst of replies, not one per line. Each line is still
 * whole, and lines keep their order.
 */
function batchedLines(stream: Io['stdout']): { write(line: string): void; flush(): void } {
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    stream.write(text);
  };
  return {
    write(line) {
      pending += `${line}\n`;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

export function registerMad(program: Command, io: Io, setStatus: SetStatus): void {
  program
    .command('mad')
    .summary('serve the driver protocol on stdin/stdout (a drop-in for one_datastore / one_tm)')
    .description(
      'Read requests `<ACTION> <id> <payload>` from stdin and answer `<ACTION> <SUCCESS|FAILURE> <id> <info>` and `LOG <E|W|I|D> <id> <message>` lines on stdout, many actions at once.\nDatastore actions: CP MKFS RM STAT CLONE MONITOR SNAP_DELETE SNAP_FLATTEN SNAP_REVERT RESTORE INCREMENT_FLATTEN. Transfer manager: TRANSFER <id> <transfer file>. Both: INIT, FINALIZE, DRIVER_CANCEL <id>.',
    )
    .argument('<kind>', 'datastore or tm')
    .option('-t, --threads <n>', 'scripts running at once', '15')
    .option('-w, --wait <seconds>', 'timeout of each action')
    .option('-d, --drivers <list>', 'enabled drivers, comma-separated (default: every folder under remotes/<kind>)')
    .option('-s, --system-tm <list>', 'TM drivers that monitor system datastores (default: every tm driver)')
    .addHelpText(
      'after',
      `
Examples:
  $ ferry mad datastore -t 15 -d fs,dummy
  $ ferry mad tm -t 15 -w 3600 -d shared,ssh,qcow2
  $ printf 'INIT\\nFINALIZE\\n' | ferry mad tm
`,
    )
    .action((kind: string, flags: MadFlags, command: Command) =>
      // stdout carries the protocol: a failure is told on stderr, --json or not.
      run(command, io, setStatus, ({ makeContext }) => serve(io, kind, flags, makeContext), { json: false }),
    );
}

interface MadFlags {
  threads: string;
  wait?: string;
  drivers?: string;
  systemTm?: string;
}

/** Answers requests from stdin until FINALIZE or EOF, then lets stdin go so the process can exit. */
async function serve(io: Io, kind: string, flags: MadFlags, makeContext: CommandRun['makeContext']): Promise<void> {
  if (!isKind(kind)) throw new FerryError('E_USAGE', `mad ${JSON.stringify(kind)}: expected datastore or tm`, { hint: 'ferry mad datastore | ferry mad tm' });
  const threads = Number(flags.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new FerryError('E_USAGE', `-t ${JSON.stringify(flags.threads)} is not a positive whole number`, { hint: '-t 15' });
  const { runner } = await makeContext();
  const remotes = await runner.remotesPath();
  const named = list(flags.drivers, '-d');
  const enabled = named ? new Set(named) : driverFolders(remotes, kind);
  const systemNamed = list(flags.systemTm, '-s');
  const systemTm = systemNamed ? new Set(systemNamed) : driverFolders(remotes, 'tm');
  const replies = batchedLines(io.stdout);
  try {
    await serveMad({
      kind,
      runner,
      concurrency: threads,
      ...(flags.wait !== undefined ? { timeoutSec: parseSeconds(flags.wait, '-w') } : {}),
      enabled,
      systemTm,
      lines: splitLines(io),
      write: replies.write,
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } finally {
    replies.flush();
  }
  io.closeStdin?.();
}
