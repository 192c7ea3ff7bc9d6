/**
 * Alert rules: declared, not coded, as IML's ValueCondition,
 * UpperBoundCondition and LowerBoundCondition are. A rule watches one
 * monitored attribute (any KEY a monitor prints, or one ferry derives:
 * FREE_PCT, DAYS_TO_FULL, MONITOR_FAILURES ...) of one kind of subject and
 * says when it is wrong, how badly (Delfin's severities), for how long it must
 * stay wrong before anyone is told (`for`), and how far it must come back
 * before the alert ends (`hysteresis`).
 *
 * The same list is read from ferry.yaml `alerts:`, `datastores.<name>.alerts:`
 * and driver.yaml `alerts:`; merge.ts layers them over defaults.ts. An entry
 * is either a whole rule or a switch (`{name, enabled}`) for a rule named
 * in an earlier layer. Pure: no I/O.
 */
import * as v from 'valibot';

export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const SUBJECT_KINDS = ['datastore', 'image', 'vm', 'host'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/** What an absent attribute means: `keep` neither raises nor clears; `raise` counts as the condition holding; `clear` as it not holding. */
export const MISSING_MODES = ['keep', 'raise', 'clear'] as const;
export type MissingMode = (typeof MISSING_MODES)[number];

/** A monitored value: monitors print KEY=VALUE, so a number or a word. */
export type AttributeValue = number | string;

export type Condition =
  | { kind: 'value'; values: AttributeValue[] }
  /** Holds when the value reaches the bound (value >= bound). */
  | { kind: 'upper'; bound: number; hysteresis: number }
  /** Holds when the value falls below the bound (value < bound): `upper: N` and `lower: N` never hold at once. */
  | { kind: 'lower'; bound: number; hysteresis: number };

export interface AlertRule {
  name: string;
  attribute: string;
  condition: Condition;
  severity: Severity;
  subject: SubjectKind;
  /** Seconds the condition must hold, without a break, before the alert is raised. */
  forSeconds: number;
  missing: MissingMode;
  /** Template; see message.ts for its {placeholders}. */
  message?: string;
  enabled: boolean;
}

/** An entry that only switches a rule of an earlier layer on or off. */
export interface RuleSwitch {
  name: string;
  enabled: boolean;
  attribute?: never;
}

export type RuleEntry = AlertRule | RuleSwitch;

export function isSwitch(entry: RuleEntry): entry is RuleSwitch {
  return !('attribute' in entry);
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in a duration written as seconds (300), or with a unit (30s, 5m, 1h, 2d); undefined when it is neither. */
export function durationSeconds(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}

/** `for:` seconds, or a number with a unit. The transform also makes explain.ts quote the check's own words. */
export const DurationSchema = v.union([
  v.pipe(v.number(), v.minValue(0)),
  v.pipe(
    v.string(),
    v.check((text) => durationSeconds(text) !== undefined, 'a duration: seconds, or a number with a unit (30s, 5m, 1h, 2d)'),
    v.transform((text) => durationSeconds(text) as number),
  ),
]);

/** Rule names: what `enabled: false` and a replacing rule refer to. */
export const RULE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;
/** Attribute KEYs, as monitors print them (USED_MB) and ferry derives them (FREE_PCT). */
export const ATTRIBUTE_KEY = /^[A-Z][A-Z0-9_]*$/;

const RuleNameSchema = v.pipe(v.string(), v.regex(RULE_NAME, 'a rule name: lower case letters, digits, _ . -'));
const ValueSchema = v.union([v.string(), v.number()]);
const HysteresisSchema = v.pipe(v.number(), v.minValue(0));

/** condition: exactly one of value (one, or a list: in the set), upper or lower (a number, with an optional hysteresis). */
export const ConditionSchema = v.union([
  v.pipe(
    v.strictObject({ value: v.union([ValueSchema, v.pipe(v.array(ValueSchema), v.minLength(1))]) }),
    v.transform((c): Condition => ({ kind: 'value', values: Array.isArray(c.value) ? c.value : [c.value] })),
  ),
  v.pipe(
    v.strictObject({ upper: v.number(), hysteresis: v.optional(HysteresisSchema) }),
    v.transform((c): Condition => ({ kind: 'upper', bound: c.upper, hysteresis: c.hysteresis ?? 0 })),
  ),
  v.pipe(
    v.strictObject({ lower: v.number(), hysteresis: v.optional(HysteresisSchema) }),
    v.transform((c): Condition => ({ kind: 'lower', bound: c.lower, hysteresis: c.hysteresis ?? 0 })),
  ),
]);

const FullRuleSchema = v.pipe(
  v.strictObject({
    name: RuleNameSchema,
    attribute: v.pipe(v.string(), v.regex(ATTRIBUTE_KEY, 'an attribute KEY in capitals (FREE_PCT, USED_MB)')),
    condition: ConditionSchema,
    severity: v.picklist(SEVERITIES),
    for: v.optional(DurationSchema),
    subject: v.optional(v.picklist(SUBJECT_KINDS)),
    missing: v.optional(v.picklist(MISSING_MODES)),
    message: v.optional(v.pipe(v.string(), v.minLength(1))),
    enabled: v.optional(v.boolean()),
  }),
  v.transform(
    (r): AlertRule => ({
      name: r.name,
      attribute: r.attribute,
      condition: r.condition,
      severity: r.severity,
      subject: r.subject ?? 'datastore',
      forSeconds: r.for ?? 0,
      missing: r.missing ?? 'keep',
      ...(r.message !== undefined ? { message: r.message } : {}),
      enabled: r.enabled ?? true,
    }),
  ),
);

const SwitchSchema = v.strictObject({ name: RuleNameSchema, enabled: v.boolean() });

/**
 * One entry of an `alerts:` list. A whole rule comes first: an entry that is
 * neither is explained against the shape it shares most keys with, so
 * `{name: x, severity: major}` is told it lacks attribute and condition.
 */
export const RuleEntrySchema = v.union([FullRuleSchema, SwitchSchema]);

/** `alerts:` in ferry.yaml (top level and per datastore) and in driver.yaml. */
export const AlertsSchema = v.array(RuleEntrySchema);

export type AlertsInput = v.InferInput<typeof AlertsSchema>;
