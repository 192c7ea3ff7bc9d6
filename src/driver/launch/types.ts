/**
 * What the supervisor (spawn-group.ts) needs from a started script, and what
 * a launcher is given: both launchers (node-launch.ts, helper-launch.ts)
 * start scripts to this shape, so the supervisor reads them alike.
 */

/** A started script, whoever started it. */
export interface Launch {
  /** The script's pid, or undefined when it could not start (closed then carries the error). */
  started: Promise<number | undefined>;
  /** The script exited and its output pipes are closed, or it could not start. */
  closed: Promise<Closed>;
  /** Calls back once the script has exited (at once if it already has). */
  onExit(callback: () => void): void;
  /** Stops reading output that killed leftovers still hold open. */
  releasePipes(): void;
}

export type Closed = { code: number | null; signal: string | null } | { error: NodeJS.ErrnoException };

export interface LaunchRequest {
  file: string;
  args: readonly string[];
  input?: string;
  env: Record<string, string>;
  cwd?: string;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

/** Starts one script as the leader of a new process group. */
export type Launcher = (request: LaunchRequest) => Launch;
