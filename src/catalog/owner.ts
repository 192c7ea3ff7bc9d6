/**
 * Who holds a lock: host, pid, and the process's start time (with the boot
 * it started in), because pids are reused. A lock is broken as stale only
 * when its owner is on this host and that exact process is gone; an owner on
 * another host is never judged from here.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessOwner {
  host: string;
  pid: number;
  /** `<boot id>:<start time in clock ticks since boot>`; empty when /proc could not tell. */
  started: string;
}

export type OwnerState = 'alive' | 'gone' | 'other-host';

let bootId: string | undefined;

function readBootId(): string {
  bootId ??= (() => {
    try {
      return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      return '';
    }
  })();
  return bootId;
}

/** When process `pid` started, or undefined when no such process runs (or is a zombie). */
export function startedOf(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, starttime field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return `${readBootId()}:${fields[19] ?? ''}`;
}

/** This process as a lock owner. */
export function selfOwner(): ProcessOwner {
  return { host: hostname(), pid: process.pid, started: startedOf(process.pid) ?? '' };
}

/** Whether the owner still runs: same host and the same process (pid and start time), or on another host (unknown here). */
export function ownerState(owner: ProcessOwner, host = hostname()): OwnerState {
  if (owner.host !== host) return 'other-host';
  const started = startedOf(owner.pid);
  if (started === undefined) return 'gone';
  // An owner recorded without a start time (an older catalog) is judged by its pid alone.
  return owner.started === '' || owner.started === started ? 'alive' : 'gone';
}
