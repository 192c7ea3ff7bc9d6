/**
 * An alert's text for a person: the rule's `message:` template, or one
 * written from the condition. Placeholders: {rule} {attribute} {value}
 * {threshold} {severity} {kind} {subject}; one not in that list is left as
 * written, so a typo shows instead of vanishing.
 */
import type { AlertRule, AttributeValue, Condition } from './rules.js';

export const PLACEHOLDERS = ['rule', 'attribute', 'value', 'threshold', 'severity', 'kind', 'subject'] as const;

/** The condition's limit as text: the bound, or the set of values. */
export function thresholdText(condition: Condition): string {
  return condition.kind === 'value' ? condition.values.map(String).join(', ') : String(condition.bound);
}

function defaultTemplate(condition: Condition): string {
  switch (condition.kind) {
    case 'value':
      return condition.values.length === 1 ? '{kind} {subject}: {attribute} is {value}' : '{kind} {subject}: {attribute} is {value} (one of {threshold})';
    case 'upper':
      return '{kind} {subject}: {attribute} is {value}, at or above {threshold}';
    case 'lower':
      return '{kind} {subject}: {attribute} is {value}, under {threshold}';
  }
}

/** The text of an alert on `subject` (its name, or id) with `value` (undefined: absent). */
export function renderMessage(rule: AlertRule, subject: string, value: AttributeValue | undefined): string {
  const fields: Record<(typeof PLACEHOLDERS)[number], string> = {
    rule: rule.name,
    attribute: rule.attribute,
    value: value === undefined ? '(absent)' : String(value),
    threshold: thresholdText(rule.condition),
    severity: rule.severity,
    kind: rule.subject,
    subject,
  };
  return (rule.message ?? defaultTemplate(rule.condition)).replace(/\{([a-z]+)\}/g, (whole, key: string) =>
    Object.hasOwn(fields, key) ? fields[key as keyof typeof fields] : whole,
  );
}
