/** What a Runner is built with, what a caller asks it to run, and what a successful run returns. */
import type { Kind, ResultOf } from '../../contract/table.js';
import type { ActionDump, DumpInput } from '../../dump/dump.js';
import type { Logger } from '../../log/logger.js';
import type { ConventionChoices } from '../convention.js';
import type { LogRecord } from '../../log/record.js';

export interface RunnerOptions {
  /** The remotes folder (datastore/<ds_mad>/, tm/<tm_mad>/). */
  remotes: string;
  logger?: Logger;
  /** Timeouts in seconds from ferry.yaml: `default`, and per kind and action. */
  timeouts?: { default?: number; datastore?: Record<string, number>; tm?: Record<string, number> };
  /** Seconds between SIGTERM and SIGKILL. Default 5. */
  killGraceSec?: number;
  /** Seconds leftover processes may hold a finished script's output open. Default 1. */
  lingerSec?: number;
  /** Bytes kept of stdout and of stderr. Default 16 MiB. */
  maxOutputBytes?: number;
  /** Added to every script's environment (hostsEnv() output, FERRY_LOCK_DIR …). */
  env?: Record<string, string>;
  /** ferry.yaml's `drivers:` conventions, for driver folders copied unmodified (convention.ts). */
  conventions?: ConventionChoices;
}

export interface CallOptions {
  /** Seconds; overrides every other timeout. */
  timeoutSec?: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** Apply the contract's stdout parser (default true). The protocol mode passes stdout through as is. */
  parse?: boolean;
  /** Added to this script's environment (a datastore's secret attributes: never on a command line or in a dump). */
  env?: Record<string, string>;
}

export interface DatastoreRequest<A extends string = string> extends CallOptions {
  kind: 'datastore';
  action: A;
  /** The dump: parsed, typed sections to build it from, or XML or base64 text. */
  dump: ActionDump | DumpInput | string;
  /** The image id (the datastore id for monitor). */
  id: number | string;
  /** Defaults to the dump's DATASTORE/DS_MAD. */
  driver?: string;
}

export interface TmRequest<A extends string = string> extends CallOptions {
  kind: 'tm';
  action: A;
  driver: string;
  args: readonly string[];
}

export type ActionRequest = DatastoreRequest | TmRequest;

export interface ActionResult<R = unknown> {
  ok: true;
  kind: Kind;
  driver: string;
  action: string;
  /** The script that ran (`clone` for an asked `clone.ssh` that does not exist). */
  script: string;
  id: string | undefined;
  command: string[];
  result: R;
  stdout: string;
  stderr: string;
  logs: LogRecord[];
  exitCode: number;
  signal: null;
  timedOut: false;
  durationMs: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** The typed result of a request whose kind and action are known at compile time. */
export type RequestResult<Q> = Q extends { kind: infer K extends Kind; action: infer A extends string } ? ActionResult<ResultOf<K, A>> : never;
