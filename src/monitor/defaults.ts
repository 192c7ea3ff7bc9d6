/**
 * The built-in alert rules (issue 15), and the attributes they need the
 * service to supply. Each is overridable by name in any later layer
 * (merge.ts): a whole rule of the same name replaces it, `{name, enabled:
 * false}` turns it off.
 */
import type { AlertRule } from './rules.js';

/**
 * Attributes ferry derives for the rules (besides the KEYs monitors print:
 * USED_MB, TOTAL_MB, FREE_MB ...). Absent when they cannot be told.
 */
export const DERIVED_ATTRIBUTES: Readonly<Record<string, string>> = {
  FREE_PCT: 'datastore: FREE_MB / TOTAL_MB * 100',
  LIMIT_USED_PCT: "datastore: USED_MB (the last known) / LIMIT_MB * 100; absent when the datastore's template sets no LIMIT_MB",
  DAYS_TO_FULL: 'datastore: days until full at the current rate (forecast.ts); absent when not growing or too few samples',
  MONITOR_FAILURES: 'datastore: monitor runs failed in a row; 0 after a success',
  SAMPLE_AGE_INTERVALS: 'datastore: time since the last sample (or since ferry began watching it) in monitor intervals',
  STATE: 'image, vm: the state in the catalog (READY, ERROR, RUNNING, FAILED ...)',
};

const rule = (r: Omit<AlertRule, 'enabled' | 'missing' | 'forSeconds' | 'subject'> & Partial<AlertRule>): AlertRule => ({
  subject: 'datastore',
  forSeconds: 0,
  missing: 'keep',
  enabled: true,
  ...r,
});

export const DEFAULT_RULES: readonly AlertRule[] = Object.freeze([
  rule({
    name: 'free_low',
    attribute: 'FREE_PCT',
    condition: { kind: 'lower', bound: 20, hysteresis: 2 },
    severity: 'warning',
    message: 'datastore {subject} has {value} % free, under {threshold} %',
  }),
  rule({
    name: 'free_critical',
    attribute: 'FREE_PCT',
    condition: { kind: 'lower', bound: 10, hysteresis: 1 },
    severity: 'critical',
    message: 'datastore {subject} has {value} % free, under {threshold} %',
  }),
  rule({
    name: 'limit_reached',
    attribute: 'LIMIT_USED_PCT',
    condition: { kind: 'upper', bound: 100, hysteresis: 1 },
    severity: 'major',
    // No LIMIT_MB (any more) is no limit reached; the service computes it from the last USED_MB, so a failed monitor does not clear it.
    missing: 'clear',
    message: 'datastore {subject} has reached its LIMIT_MB ({value} % used)',
  }),
  // "Not growing" is the good news: an absent forecast ends the alert.
  rule({
    name: 'full_soon',
    attribute: 'DAYS_TO_FULL',
    condition: { kind: 'lower', bound: 14, hysteresis: 1 },
    severity: 'warning',
    missing: 'clear',
    message: 'datastore {subject} fills in {value} days at the current rate (under {threshold})',
  }),
  rule({
    name: 'full_imminent',
    attribute: 'DAYS_TO_FULL',
    condition: { kind: 'lower', bound: 3, hysteresis: 0.5 },
    severity: 'critical',
    missing: 'clear',
    message: 'datastore {subject} fills in {value} days at the current rate (under {threshold})',
  }),
  // The service puts the datastore in ERROR while this one is raised; the next success (0 failures) clears both.
  rule({
    name: 'monitor_failing',
    attribute: 'MONITOR_FAILURES',
    condition: { kind: 'upper', bound: 3, hysteresis: 0 },
    severity: 'major',
    message: 'datastore {subject}: its monitor failed {value} times in a row; the datastore is in ERROR',
  }),
  // The one rule an absent value raises: nothing heard is what it watches for.
  rule({
    name: 'no_sample',
    attribute: 'SAMPLE_AGE_INTERVALS',
    condition: { kind: 'upper', bound: 3, hysteresis: 0 },
    severity: 'major',
    missing: 'raise',
    message: 'datastore {subject}: no sample for {value} monitor intervals',
  }),
  rule({
    name: 'image_failed',
    attribute: 'STATE',
    subject: 'image',
    condition: { kind: 'value', values: ['ERROR'] },
    severity: 'major',
    forSeconds: 300,
    message: 'image {subject} has been in {value} for over 5 minutes',
  }),
  rule({
    name: 'vm_failed',
    attribute: 'STATE',
    subject: 'vm',
    condition: { kind: 'value', values: ['FAILED'] },
    severity: 'major',
    forSeconds: 300,
    message: 'VM {subject} has been {value} for over 5 minutes',
  }),
]);
