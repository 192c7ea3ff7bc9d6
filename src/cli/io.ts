import { createInterface } from 'node:readline';

/** What a command may touch: its streams, environment and folder, passed in so commands run in-process under test. */

export interface OutStream {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  /** Whole stdin, read on demand. */
  readStdin(): Promise<string>;
  /** stdin line by line, as it arrives (protocol mode); default: readStdin() split. */
  stdinLines?(): AsyncIterable<string>;
  /** Stops reading stdin so the process can exit while a writer keeps its end open. */
  closeStdin?(): void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted when the user interrupts ferry; running drivers are then stopped. */
  signal?: AbortSignal;
  /** Calls `listener` on each SIGHUP (a service's reload) until the returned function is called. */
  onHangup?(listener: () => void): () => void;
}

/** Reads a readable stream to the end as UTF-8. */
export async function readStream(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** The real process's streams. */
export function processIo(signal?: AbortSignal): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: () => readStream(process.stdin),
    stdinLines: () => stdinLines(),
    closeStdin: () => process.stdin.destroy(),
    env: process.env,
    cwd: process.cwd(),
    ...(signal ? { signal } : {}),
    onHangup: (listener) => {
      process.on('SIGHUP', listener);
      return () => process.off('SIGHUP', listener);
    },
  };
}

/** stdin line by line; once the reader stops (FINALIZE or EOF), stdin is destroyed so it no longer holds the process open. */
async function* stdinLines(): AsyncGenerator<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  try {
    yield* lines;
  } finally {
    lines.close();
    process.stdin.destroy();
  }
}
