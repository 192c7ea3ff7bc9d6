/** `ferry alert list|show|ack`: the alerts in the catalog, raised and cleared by the alert rules (docs/monitoring.md). */
import { Option, type Command } from 'commander';
import { FerryError } from '../errors.js';
import { ALERT_SEVERITIES, type Alert, type AlertFilter, type AlertNotice, type AlertSeverity } from '../model.js';
import { print, table, withCatalog } from './catalog-context.js';
import type { Io } from './io.js';

const STATES = ['firing', 'cleared', 'all'] as const;

/** An alert id as typed: a positive integer, else a usage error. */
function alertId(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) {
    throw new FerryError('E_USAGE', `alert id ${JSON.stringify(text)} is not a positive integer`, { hint: 'ferry alert list' });
  }
  return Number(text);
}

const subjectText = (subject: { kind: string; id: string }): string => `${subject.kind} ${subject.id}`;

/** What it affects, grouped by kind: `image 3 4, vm 7, host host01`. */
function affectsText(alert: Alert): string {
  if (alert.affects.length === 0) return '-';
  const byKind = new Map<string, string[]>();
  for (const each of alert.affects) byKind.set(each.kind, [...(byKind.get(each.kind) ?? []), each.id]);
  return [...byKind].map(([kind, ids]) => `${kind} ${ids.join(' ')}`).join(', ');
}

function describe(alert: Alert): string {
  const lines = [
    `alert ${alert.id} ${alert.rule} (${alert.severity}, ${alert.state})`,
    `  subject    ${subjectText(alert.subject)}`,
    `  message    ${alert.message}`,
    `  value      ${alert.value ?? '-'}`,
    `  raised     ${alert.raisedAt}`,
    `  cleared    ${alert.clearedAt ?? '-'}`,
    `  acked      ${alert.ackedAt === null ? '-' : `${alert.ackedAt} by ${alert.ackedBy ?? '?'}`}`,
    `  affects    ${affectsText(alert)}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** What the alert hooks made of each event of the alert: delivered, waiting for a retry, or given up. */
function describeNotices(notices: readonly AlertNotice[]): string {
  if (notices.length === 0) return '';
  const lines = notices.map((notice) => {
    const outcome = notice.deliveredAt === null ? `pending${notice.lastError ? ` (attempt ${notice.attempts} failed: ${notice.lastError})` : ''}` : notice.lastError ? `given up after ${notice.attempts} attempts: ${notice.lastError}` : `delivered ${notice.deliveredAt}`;
    return `  hooks      ${notice.event} (notice ${notice.id}): ${outcome}`;
  });
  return `${lines.join('\n')}\n`;
}

export function registerAlert(program: Command, io: Io, setStatus: (status: number) => void): void {
  const group = program.command('alert').summary('alerts raised by the alert rules: list, show, ack')
    .addHelpText('after', '\nExamples:\n  $ ferry alert list\n  $ ferry alert show 3\n  $ ferry alert ack 3 --by alice\n');

  group
    .command('list')
    .summary('list alerts (default: those firing), oldest first')
    .addOption(new Option('--state <state>', 'firing, cleared or all').choices(STATES).default('firing'))
    .addOption(new Option('--severity <severity>', 'only this severity').choices(ALERT_SEVERITIES))
    .addHelpText('after', '\nExamples:\n  $ ferry alert list\n  $ ferry alert list --state all --severity critical\n  $ ferry alert list --json\n')
    .action((flags: { state: (typeof STATES)[number]; severity?: AlertSeverity }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        // commander refuses any other --state or --severity (exit 2, naming the choices).
        const filter: AlertFilter = {
          ...(flags.state === 'all' ? {} : { state: flags.state }),
          ...(flags.severity !== undefined ? { severity: flags.severity } : {}),
        };
        const alerts = ctx.catalog.listAlerts(filter);
        print(ctx, alerts, () =>
          table(
            ['ID', 'SEVERITY', 'STATE', 'RULE', 'SUBJECT', 'RAISED', 'ACKED', 'MESSAGE'],
            alerts.map((alert) => [alert.id, alert.severity, alert.state, alert.rule, subjectText(alert.subject), alert.raisedAt, alert.ackedBy, alert.message]),
          ),
        );
      }),
    );

  group
    .command('show')
    .summary('show an alert: what it is about, what it affects, who acknowledged it')
    .argument('<id>', 'alert id')
    .addHelpText('after', '\nExamples:\n  $ ferry alert show 3\n  $ ferry alert show 3 --json\n')
    .action((id: string, _flags: unknown, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const alert = ctx.catalog.alert(alertId(id));
        const notices = ctx.catalog.listNotices(alert.id);
        print(ctx, { ...alert, notices }, () => describe(alert) + describeNotices(notices));
      }),
    );

  group
    .command('ack')
    .summary('acknowledge an alert (firing or cleared); the first acknowledgement is kept')
    .argument('<id>', 'alert id')
    .option('--by <name>', 'who acknowledges it (default: $USER)')
    .addHelpText('after', '\nExamples:\n  $ ferry alert ack 3\n  $ ferry alert ack 3 --by alice\n')
    .action((id: string, flags: { by?: string }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const number = alertId(id);
        const by = flags.by ?? ctx.io.env.USER ?? ctx.io.env.LOGNAME;
        if (by === undefined || by.trim() === '') throw new FerryError('E_USAGE', 'say who acknowledges the alert: --by NAME ($USER is not set)', { hint: `ferry alert ack ${number} --by alice` });
        const alert = ctx.catalog.ackAlert(number, by);
        print(ctx, alert, () => `alert ${alert.id} ${alert.rule} on ${subjectText(alert.subject)}: acknowledged by ${alert.ackedBy} at ${alert.ackedAt}\n`);
      }),
    );
}
