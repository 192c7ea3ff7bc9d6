// What scripts/bench-queue.mjs checks and measures, from the records a run leaves: the driver's log of calls
// (interleaved: two calls on one VM overlapping in time), the journal split into operation runs (a step
// journaled ok twice within one run), the operations and VMs as they ended (lost), and CPU times from /proc.
import { readdirSync, readFileSync } from 'node:fs';

export const groupBy = (items, key) => {
  const groups = new Map();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
};
export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** CPU time (ms) of a process (all its threads) and of its descendants, reaped and alive, from /proc (ticks of 10 ms). */
export function cpuTree(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const out = { self: (Number(fields[11]) + Number(fields[12])) * 10, children: (Number(fields[13]) + Number(fields[14])) * 10 };
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
        const own = cpuTree(child);
        out.children += own.self + own.children;
      }
    }
    return out;
  } catch {
    return { self: 0, children: 0 };
  }
}

/** The newest journal id (0: none). */
export const journalMark = (catalog) => Number(catalog.executor.get({ sql: 'SELECT coalesce(max(id), 0) AS m FROM journal', parameters: [] }).m);

/** The driver's log: calls as { vm, action, args, start, end } (µs); a start without an end has end Infinity. */
export function readCalls(file) {
  const open = new Map();
  const calls = [];
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return calls;
  }
  for (const line of text.split('\n')) {
    const [tag, pid, time, action, ...args] = line.split(' ');
    const t = Number(time?.replace(',', '.')) * 1e6;
    if (tag === 'S') {
      const vm = Number(/\/sysds\/(\d+)(?:\/|\s|$)/.exec(args.join(' '))?.[1]);
      const call = { vm, action, args: args.join(' '), start: t, end: Infinity };
      calls.push(call);
      open.set(pid, call);
    } else if (tag === 'E' && open.has(pid)) {
      open.get(pid).end = t;
      open.delete(pid);
    }
  }
  return calls;
}

/**
 * Calls cut by a worker's SIGKILL log no end: ferry-spawn kills the scripts of its worker as the worker goes (EOF
 * on its stdin). Such a call ends, at the latest, at the first kill after it started (`kills`: µs); one with no
 * kill after it keeps end Infinity, and overlaps every later call on its VM.
 */
export function endCutCalls(calls, kills) {
  for (const call of calls) {
    if (call.end === Infinity) call.end = Math.min(Infinity, ...kills.filter((at) => at >= call.start));
  }
  return calls;
}

/** Pairs of calls on one VM that overlap in time. */
export function interleaved(calls) {
  const byVm = groupBy(calls, (call) => call.vm);
  let count = 0;
  for (const list of byVm.values()) {
    list.sort((a, b) => a.start - b.start);
    let end = -Infinity;
    for (const call of list) {
      if (call.start < end) count += 1;
      end = Math.max(end, call.end);
    }
  }
  return count;
}

/**
 * The figures and checks of a run ({ vms, ms, startMark }: each VM's id, failure and operation runs, whose journal
 * entries are those after `from` up to `to`, `logical` the operation of the VM's sequence they run): lost, run
 * twice (a step journaled ok twice in one operation, its recovers included), interleaved, actions/s, what a death
 * cost.
 */
export function check(catalog, run, calls, final) {
  const entries = catalog.executor.all({ sql: `SELECT id, subject, step, kind, ok FROM journal WHERE id > ${catalog.dialect === 'postgres' ? '$1' : '?'} AND subject LIKE 'vm:%' ORDER BY id`, parameters: [run.startMark] });
  const byVm = groupBy(entries, (entry) => Number(entry.subject.slice(3)));
  let twice = 0;
  let unattributed = 0;
  for (const vm of run.vms) {
    // Steps journaled ok per operation of the sequence: a run and the recovers that finish its plan count as one.
    const okSteps = new Map();
    for (const entry of byVm.get(vm.id) ?? []) {
      const op = vm.runs.find((each) => entry.id > each.from && entry.id <= each.to);
      if (!op) unattributed += 1;
      else if (entry.ok) {
        const seen = okSteps.get(op.logical) ?? new Set();
        if (seen.has(entry.step)) twice += 1;
        okSteps.set(op.logical, seen.add(entry.step));
      }
    }
  }
  const notFinal = run.vms.filter((vm) => vm.id === undefined || catalog.vm(vm.id).state !== final);
  const failures = run.vms.filter((vm) => vm.failure !== undefined);
  // Operations of this run not ended now: never ended, or ended and shown running again (finished_at set).
  const ids = run.vms.flatMap((vm) => [...vm.runs.map((op) => op.id), ...(vm.lostOperation ? [vm.lostOperation] : [])]);
  const open =
    catalog.dialect === 'postgres'
      ? catalog.executor.all({ sql: `SELECT id, state, attempts, finished_at FROM operations WHERE id = ANY($1::bigint[]) AND state NOT IN ('done', 'failed')`, parameters: [ids] })
      : [];
  const actions = entries.filter((entry) => entry.kind === 'tm' && entry.ok).length;
  const ops = run.vms.flatMap((vm) => vm.runs);
  return {
    vms: run.vms.length,
    operations: ops.length,
    actions,
    seconds: run.ms / 1000,
    actionsPerSecond: actions / (run.ms / 1000),
    lost: new Set([...failures, ...notFinal]).size + open.length,
    failures: failures.slice(0, 5).map((vm) => `${vm.name}: ${vm.failure}`),
    notFinal: notFinal.length,
    openOperations: open.length,
    reopened: open.filter((op) => op.finished_at !== null).map((op) => ({ id: Number(op.id), state: op.state, attempts: Number(op.attempts), finishedAt: op.finished_at })),
    unattributed,
    runTwice: twice,
    interleaved: interleaved(calls),
    recoveredVms: run.vms.filter((vm) => vm.recovers > 0).length,
    recoverOperations: run.vms.reduce((total, vm) => total + vm.recovers, 0),
    driverFailedAfterDeath: run.vms.reduce((total, vm) => total + vm.driverFailedAfterDeath, 0),
    retriedOnDeath: ops.filter((op) => op.attempts > 1).length,
    driverCalls: calls.length,
    // Calls that ran but whose success the journal does not show: in flight when their worker died (cut, or run
    // to their end), run again.
    rerunCalls: calls.length - actions,
    unfinishedCalls: calls.filter((call) => call.end === Infinity).length,
  };
}

