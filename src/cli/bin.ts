#!/usr/bin/env node
/**
 * The `ferry` executable: the only place that sets process.exitCode.
 * `ferry xpath` takes a short path that loads nothing but the dump reader,
 * `ferry onecompat` (OpenNebula's onevm/onedatastore/onehost shims) one
 * that loads the catalog and the XML builder only.
 */
import { processIo } from './io.js';

const argv = process.argv.slice(2);

// A reader that went away (`ferry ... | head -1`) ends the output, not the command: an operation under way still
// finishes and records its outcome; what it would have printed is dropped, without an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stream.write = (() => true) as typeof stream.write;
  });
}

async function run(): Promise<number> {
  if (argv[0] === 'xpath') {
    const { runXpath } = await import('./xpath.js');
    return runXpath(argv.slice(1), processIo());
  }
  if (argv[0] === 'onecompat') {
    const { runOneCompat } = await import('./onecompat.js');
    return runOneCompat(argv.slice(1), processIo());
  }
  const { signalAllGroups } = await import('../driver/launch/spawn-group.js');
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    // First signal: cancel running drivers cleanly (TERM, then KILL after the grace period). Second: kill now.
    if (interrupts === 1) controller.abort(signal);
    else {
      signalAllGroups('SIGKILL');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => signalAllGroups('SIGKILL'));
  const { main } = await import('./main.js');
  return main(argv, processIo(controller.signal));
}

run().then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`ferry: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  },
);
