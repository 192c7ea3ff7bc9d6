/**
 * The rules in force for a subject: layers of `alerts:` lists over the
 * defaults, later layers winning, in this order:
 *
 *   1. defaults.ts
 *   2. ferry.yaml `alerts:` (the operator, for everything)
 *   3. driver.yaml `alerts:` of the datastore's drivers, DS driver then TM driver
 *   4. ferry.yaml `datastores.<name>.alerts:` (the operator, for one datastore)
 *
 * Within that order, an entry naming a rule already defined:
 *   - a whole rule (attribute, condition, severity) replaces it entirely, keeping its place in the list;
 *   - `{name, enabled: false}` turns it off, `{name, enabled: true}` turns it back on, unchanged.
 * A whole rule with a new name is added at the end. A name given twice in
 * one layer, or a switch for a name no earlier layer defines, is an error
 * naming the layer. Disabled rules stay in the result (`enabled: false`) so a
 * later layer can switch them back on; evaluate only the enabled ones.
 */
import { nearest } from '../config/nearest.js';
import { FerryError } from '../errors.js';
import { DEFAULT_RULES } from './defaults.js';
import { isSwitch, type AlertRule, type RuleEntry } from './rules.js';

export interface RuleLayer {
  /** Where the entries come from, for errors: "ferry.yaml datastores.fast.alerts". */
  source: string;
  entries: readonly RuleEntry[];
}

/** The merged rules, in a stable order (defaults first, then additions as met). */
export function mergeRules(layers: readonly RuleLayer[], base: readonly AlertRule[] = DEFAULT_RULES): AlertRule[] {
  const rules = new Map<string, AlertRule>(base.map((rule) => [rule.name, { ...rule }]));
  for (const layer of layers) {
    const seen = new Set<string>();
    for (const entry of layer.entries) {
      if (seen.has(entry.name)) {
        throw new FerryError('E_CONFIG', `${layer.source}: the rule "${entry.name}" is given twice`, { hint: 'give each rule once per list; to change a rule, write it whole under its name' });
      }
      seen.add(entry.name);
      if (!isSwitch(entry)) {
        rules.set(entry.name, { ...entry });
        continue;
      }
      const earlier = rules.get(entry.name);
      if (!earlier) {
        const close = nearest(entry.name, [...rules.keys()]);
        throw new FerryError('E_CONFIG', `${layer.source}: "${entry.name}" is not a rule defined before this list, so enabled: ${entry.enabled} has nothing to switch${close ? `; did you mean "${close}"?` : ''}`, {
          hint: `rules known at this point: ${[...rules.keys()].join(', ')}; a new rule needs attribute, condition and severity`,
        });
      }
      rules.set(entry.name, { ...earlier, enabled: entry.enabled });
    }
  }
  return [...rules.values()];
}

/** What the configuration says about one datastore's alerts, each list optional. */
export interface DatastoreAlertSources {
  /** ferry.yaml `alerts:`. */
  global?: readonly RuleEntry[];
  /** driver.yaml `alerts:` of the datastore's drivers, in order: DS driver, then TM driver. */
  drivers?: readonly { kind: 'datastore' | 'tm'; name: string; alerts?: readonly RuleEntry[] }[];
  /** The datastore's name and its ferry.yaml `datastores.<name>.alerts:`. */
  datastore?: { name: string; alerts?: readonly RuleEntry[] };
}

/** The layers for one datastore, in the documented order, labelled for errors. */
export function datastoreLayers(sources: DatastoreAlertSources): RuleLayer[] {
  const layers: RuleLayer[] = [];
  if (sources.global) layers.push({ source: 'ferry.yaml alerts', entries: sources.global });
  for (const driver of sources.drivers ?? []) {
    if (driver.alerts) layers.push({ source: `driver.yaml alerts of the ${driver.kind === 'tm' ? 'TM' : 'datastore'} driver ${driver.name}`, entries: driver.alerts });
  }
  if (sources.datastore?.alerts) layers.push({ source: `ferry.yaml datastores.${sources.datastore.name}.alerts`, entries: sources.datastore.alerts });
  return layers;
}

/** The enabled rules for one datastore (and the images on it). */
export function datastoreRules(sources: DatastoreAlertSources, base: readonly AlertRule[] = DEFAULT_RULES): AlertRule[] {
  return mergeRules(datastoreLayers(sources), base).filter((rule) => rule.enabled);
}
