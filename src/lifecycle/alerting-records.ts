/**
 * Alerts on images and VMs (the built-in image_failed and vm_failed, and any rule on their STATE): evaluated
 * by the service's sweep over the catalog, not by a monitor run. Only a subject in a condition (held, or
 * raised) keeps an evaluator state, so ten thousand healthy images cost no rows; an image or VM removed, or
 * gone DONE, ends its alert.
 */
import type { CatalogStore, CatalogTx } from '../catalog/store.js';
import type { AlertSubjectRef } from '../model.js';
import { observe, stateKey, type AlertStates } from '../monitor/alerts.js';
import { DEFAULT_RULES } from '../monitor/defaults.js';
import type { AlertState, Subject } from '../monitor/evaluate.js';
import { impactOf } from '../monitor/impact.js';
import type { AlertRule, AttributeValue } from '../monitor/rules.js';
import type { AlertingResult } from './alerting.js';

interface Observed {
  subject: Subject;
  values: Record<string, AttributeValue | undefined>;
  affects: () => AlertSubjectRef[];
}

/** The images and VMs as the rules see them: their STATE, and (when an alert is raised) what each affects. */
function observedRecords(tx: CatalogTx, kinds: ReadonlySet<string>): Observed[] {
  const observed: Observed[] = [];
  if (kinds.has('image')) {
    // A DONE VM uses its images no more (as vmsUsingImage says): it is not affected.
    const vms = tx.listVms().filter((vm) => vm.state !== 'DONE');
    const view = { images: [], vms: vms.map((vm) => ({ id: vm.id, host: vm.host, systemDatastoreId: vm.systemDsId, disks: vm.disks.map((disk) => ({ imageId: disk.imageId })) })) };
    for (const image of tx.listImages()) {
      observed.push({
        subject: { kind: 'image', id: image.id, name: image.name },
        values: { STATE: image.state },
        affects: () => impactOf({ kind: 'image', id: image.id }, view).vms.map((id) => ({ kind: 'vm', id })),
      });
    }
  }
  if (kinds.has('vm')) {
    for (const vm of tx.listVms()) {
      if (vm.state === 'DONE') continue;
      observed.push({ subject: { kind: 'vm', id: vm.id, name: vm.name }, values: { STATE: vm.state }, affects: () => (vm.host ? [{ kind: 'host', id: vm.host }] : []) });
    }
  }
  return observed;
}

const isState = (value: unknown): value is AlertState => typeof value === 'object' && value !== null && typeof (value as AlertState).rule === 'string';

/** Evaluates the image and VM rules on the catalog as it is at `at`, in one transaction. */
export function alertOnRecords(catalog: CatalogStore, at: number, allRules: readonly AlertRule[] = DEFAULT_RULES): AlertingResult {
  const rules = allRules.filter((rule) => rule.enabled && (rule.subject === 'image' || rule.subject === 'vm'));
  const result: AlertingResult = { events: [], raised: [], cleared: [] };
  if (rules.length === 0) return result;
  return catalog.transaction((tx) => {
    const stored = new Map<string, AlertState>();
    for (const rule of rules) {
      for (const entry of tx.listEvaluatorStates(rule.name)) if (isState(entry.state)) stored.set(stateKey(rule.name, entry.subject), entry.state);
    }
    const seen = new Set<string>();
    for (const record of observedRecords(tx, new Set(rules.map((rule) => rule.subject)))) {
      const states: AlertStates = {};
      for (const rule of rules) {
        const key = stateKey(rule.name, record.subject);
        const state = stored.get(key);
        if (state) states[key] = state;
      }
      const observed = observe(rules, states, { subject: record.subject, at, values: record.values });
      for (const rule of rules) {
        if (rule.subject !== record.subject.kind) continue;
        const key = stateKey(rule.name, record.subject);
        seen.add(key);
        const next = observed.states[key];
        const idle = next === undefined || (!next.active && next.pendingSince === undefined);
        if (!idle) tx.putEvaluatorState(rule.name, record.subject, next, at);
        else if (stored.has(key)) tx.putEvaluatorState(rule.name, record.subject, undefined);
      }
      for (const event of observed.events) {
        result.events.push(event);
        if (event.type === 'raised') {
          const made = tx.raiseAlert({ rule: event.rule, subject: record.subject, severity: event.severity, message: event.message, value: null, affects: record.affects(), at: event.at });
          if (made.raised) result.raised.push(made.alert);
        } else {
          const gone = tx.clearAlert(event.rule, record.subject, event.at);
          if (gone) result.cleared.push(gone);
        }
      }
    }
    // Subjects gone (deleted, or a VM DONE): their alerts end, their states are forgotten.
    for (const [key, state] of stored) {
      if (seen.has(key)) continue;
      const gone = tx.clearAlert(state.rule, state.subject, at);
      if (gone) result.cleared.push(gone);
      tx.putEvaluatorState(state.rule, state.subject, undefined);
    }
    return result;
  });
}
