/**
 * The edge-triggered evaluator: from the previous state of one rule on one
 * subject and a new observation, the next state and what happened (raised,
 * cleared, or nothing). Pure, and its state is plain JSON, so the service
 * can store it with the events in one transaction and carry on after a
 * SIGKILL: an observation at or before the state's `lastAt` is ignored, so
 * one replayed after a restart raises nothing twice.
 *
 * - Raised once the condition has held without a break for the rule's
 *   `for`; a value that stops holding during the hold starts it again.
 * - Cleared when the value comes back past the threshold by the rule's
 *   hysteresis (upper N: below N - h; lower N: at or above N + h); a value
 *   flapping inside that band changes nothing, and raised and cleared
 *   always alternate.
 * - An absent value (or a word where a bound needs a number) neither raises,
 *   clears, nor breaks a hold, unless the rule's `missing` says it counts as
 *   holding (`raise`, as no_sample) or not (`clear`, as full_soon).
 * Times are milliseconds since the epoch and must increase.
 */
import { renderMessage, thresholdText } from './message.js';
import type { AlertRule, AttributeValue, Severity, SubjectKind } from './rules.js';

export interface Subject {
  kind: SubjectKind;
  id: number | string;
  /** Shown in messages; the id when absent. */
  name?: string;
}

export interface AlertState {
  rule: string;
  subject: { kind: SubjectKind; id: number | string };
  severity: Severity;
  attribute: string;
  active: boolean;
  /** Not active: when the condition began holding (the hold runs from here). */
  pendingSince?: number;
  /** Active: when it was raised. */
  raisedAt?: number;
  /** The last observation applied. */
  lastAt?: number;
  /** The last value seen, if any. */
  value?: AttributeValue;
}

export interface AlertEvent {
  type: 'raised' | 'cleared';
  rule: string;
  severity: Severity;
  attribute: string;
  subject: { kind: SubjectKind; id: number | string };
  value?: AttributeValue;
  threshold: string;
  at: number;
  /** For cleared: when it was raised. */
  raisedAt?: number;
  /** For a clear that is not the value's doing: why (the rule was removed or disabled, the subject is gone). */
  reason?: string;
  message: string;
}

export interface Evaluation {
  state: AlertState;
  events: AlertEvent[];
}

const EQUAL_NUMBERS = /^-?\d+(\.\d+)?$/;

function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (typeof a === 'number' || typeof b === 'number') {
    const [x, y] = [String(a).trim(), String(b).trim()];
    if (EQUAL_NUMBERS.test(x) && EQUAL_NUMBERS.test(y)) return Number(x) === Number(y);
  }
  return String(a) === String(b);
}

function asNumber(value: AttributeValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const text = value.trim();
  return text !== '' && Number.isFinite(Number(text)) ? Number(text) : undefined;
}

/** Whether the condition holds; `active` moves the bound by the hysteresis; undefined: cannot be told. */
export function conditionHolds(rule: AlertRule, value: AttributeValue | undefined, active: boolean): boolean | undefined {
  const { condition } = rule;
  const number = value === undefined || condition.kind === 'value' ? undefined : asNumber(value);
  if (value === undefined || (condition.kind !== 'value' && number === undefined)) {
    return rule.missing === 'raise' ? true : rule.missing === 'clear' ? false : undefined;
  }
  switch (condition.kind) {
    case 'value':
      return condition.values.some((wanted) => sameValue(wanted, value));
    case 'upper':
      return (number as number) >= condition.bound - (active ? condition.hysteresis : 0);
    case 'lower':
      return (number as number) < condition.bound + (active ? condition.hysteresis : 0);
  }
}

/** A fresh state: nothing raised, nothing pending. */
export function initialState(rule: AlertRule, subject: Subject): AlertState {
  return { rule: rule.name, subject: { kind: subject.kind, id: subject.id }, severity: rule.severity, attribute: rule.attribute, active: false };
}

function event(type: AlertEvent['type'], rule: AlertRule, subject: Subject, value: AttributeValue | undefined, at: number, raisedAt?: number): AlertEvent {
  return {
    type,
    rule: rule.name,
    severity: rule.severity,
    attribute: rule.attribute,
    subject: { kind: subject.kind, id: subject.id },
    ...(value !== undefined ? { value } : {}),
    threshold: thresholdText(rule.condition),
    at,
    ...(raisedAt !== undefined ? { raisedAt } : {}),
    message: renderMessage(rule, subject.name ?? String(subject.id), value),
  };
}

/** The next state of `rule` on `subject` after `value` was observed at `at` (ms). */
export function evaluate(rule: AlertRule, subject: Subject, previous: AlertState | undefined, value: AttributeValue | undefined, at: number): Evaluation {
  const before = previous ?? initialState(rule, subject);
  if (before.lastAt !== undefined && at <= before.lastAt) return { state: before, events: [] };
  const { pendingSince: _pending, raisedAt: _raised, value: _value, ...base } = before;
  const seen = value !== undefined ? { value } : before.value !== undefined ? { value: before.value } : {};
  const next: AlertState = { ...base, severity: rule.severity, attribute: rule.attribute, lastAt: at, ...seen };
  const holds = conditionHolds(rule, value, before.active);

  if (before.active) {
    if (holds === false) return { state: { ...next, active: false }, events: [event('cleared', rule, subject, value, at, before.raisedAt)] };
    return { state: { ...next, ...(before.raisedAt !== undefined ? { raisedAt: before.raisedAt } : {}) }, events: [] };
  }
  if (holds === false) return { state: next, events: [] };
  if (holds === undefined) return { state: { ...next, ...(before.pendingSince !== undefined ? { pendingSince: before.pendingSince } : {}) }, events: [] };
  const since = before.pendingSince ?? at;
  if (at - since >= rule.forSeconds * 1000) {
    return { state: { ...next, active: true, raisedAt: at }, events: [event('raised', rule, subject, value, at)] };
  }
  return { state: { ...next, pendingSince: since }, events: [] };
}
