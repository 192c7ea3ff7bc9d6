/**
 * Many rules over many subjects: the alert states kept as one JSON-able
 * record keyed by rule and subject, fed one observation of a subject at a
 * time (all of its attributes at one time), and tidied when rules or
 * subjects go away (their raised alerts are cleared, with the reason, so
 * none is left raised with nothing to clear it).
 */
import { evaluate, type AlertEvent, type AlertState, type Subject } from './evaluate.js';
import type { AlertRule, AttributeValue } from './rules.js';

/** States by stateKey(); plain JSON. */
export type AlertStates = Record<string, AlertState>;

/** The key of one rule on one subject: `free_low/datastore/100`. */
export function stateKey(rule: string, subject: { kind: string; id: number | string }): string {
  return `${rule}/${subject.kind}/${subject.id}`;
}

export interface SubjectObservation {
  subject: Subject;
  at: number;
  /** Attribute KEY -> value; an absent key is an absent value. */
  values: Readonly<Record<string, AttributeValue | undefined>>;
}

export interface BatchResult {
  states: AlertStates;
  events: AlertEvent[];
}

/** Applies one observation to every enabled rule for the subject's kind; `states` is not changed. */
export function observe(rules: readonly AlertRule[], states: Readonly<AlertStates>, observation: SubjectObservation): BatchResult {
  const next: AlertStates = { ...states };
  const events: AlertEvent[] = [];
  for (const rule of rules) {
    if (!rule.enabled || rule.subject !== observation.subject.kind) continue;
    const key = stateKey(rule.name, observation.subject);
    const value = Object.hasOwn(observation.values, rule.attribute) ? observation.values[rule.attribute] : undefined;
    const result = evaluate(rule, observation.subject, states[key], value, observation.at);
    next[key] = result.state;
    events.push(...result.events);
  }
  return { states: next, events };
}

/**
 * Clears and drops the states `keep` refuses (a rule no longer enabled, a
 * subject deleted): a raised alert gets a `cleared` event with `reason`.
 */
export function retire(states: Readonly<AlertStates>, keep: (state: AlertState) => boolean, at: number, reason: string): BatchResult {
  const next: AlertStates = {};
  const events: AlertEvent[] = [];
  for (const key of Object.keys(states).sort()) {
    const state = states[key] as AlertState;
    if (keep(state)) {
      next[key] = state;
      continue;
    }
    if (!state.active) continue;
    events.push({
      type: 'cleared',
      rule: state.rule,
      severity: state.severity,
      attribute: state.attribute,
      subject: state.subject,
      ...(state.value !== undefined ? { value: state.value } : {}),
      threshold: '',
      at,
      ...(state.raisedAt !== undefined ? { raisedAt: state.raisedAt } : {}),
      reason,
      message: `${state.subject.kind} ${state.subject.id}: ${state.rule} cleared: ${reason}`,
    });
  }
  return { states: next, events };
}

/** Retires the states of rules not in `rules` (or disabled there), as after a reload of ferry.yaml. */
export function retireRules(rules: readonly AlertRule[], states: Readonly<AlertStates>, at: number): BatchResult {
  const enabled = new Set(rules.filter((rule) => rule.enabled).map((rule) => rule.name));
  return retire(states, (state) => enabled.has(state.rule), at, 'the rule was removed or disabled');
}

/** The raised alerts, oldest first, then by key. */
export function activeAlerts(states: Readonly<AlertStates>): AlertState[] {
  return Object.entries(states)
    .filter(([, state]) => state.active)
    .sort(([ka, a], [kb, b]) => (a.raisedAt ?? 0) - (b.raisedAt ?? 0) || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([, state]) => state);
}
