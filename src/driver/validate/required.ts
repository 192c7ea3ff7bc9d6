/**
 * The actions a driver lacks, judged by the contract table's `need` of
 * each row: required ones are errors, recommended (and system) ones
 * warnings, optional ones one note, and an action whose capability
 * driver.yaml claims is required.
 */
import type { Kind } from '../../contract/table.js';
import { actionsOf, specFor } from '../../contract/lookup.js';
import type { Add } from './findings.js';

export function checkMissing(kind: Kind, dir: string, files: ReadonlySet<string>, capabilities: readonly string[], add: Add): void {
  const claimed = new Set(capabilities);
  const optional: string[] = [];
  for (const action of actionsOf(kind)) {
    const need = specFor(kind, action).need;
    // Only the exact name serves the action: asked for `clone`, ferry never runs `clone.ssh`.
    if (files.has(action)) continue;
    const claim = need.claimedBy?.find((capability) => claimed.has(capability));
    if (claim) {
      add('error', 'missing-action', dir, `no ${action} action, but driver.yaml claims capability ${claim}: ${need.breaks}`, `add an executable ${action} to ${dir}, or drop ${claim} from capabilities`);
    } else if (need.need === 'required') {
      add('error', 'missing-action', dir, `no ${action} action: ${need.breaks}`, `add an executable script named ${action} to ${dir}`);
    } else if (need.need === 'recommended' || need.need === 'system') {
      add('warning', 'missing-action', dir, `no ${action} action: ${need.breaks}${need.need === 'system' ? ' (needed when this TM serves a system datastore)' : ''}`, `add an executable script named ${action} to ${dir}`);
    } else {
      optional.push(action);
    }
  }
  if (optional.length > 0) {
    const breaks = optional.map((action) => specFor(kind, action).need.breaks).join('; ');
    add('info', 'optional-missing', dir, `optional actions not implemented: ${optional.join(', ')} (${breaks})`, 'nothing to do unless the driver should support them; claim them in capabilities when it does');
  }
}
