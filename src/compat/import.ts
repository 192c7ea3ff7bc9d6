/**
 * `ferry drivers import SRC DEST`: installs OpenNebula's storage drivers from
 * an OpenNebula source tree or an installed remotes folder into DEST, an
 * OpenNebula self-contained install root (ONE_LOCATION layout), placing each
 * file where OpenNebula's install.sh does, files unmodified and modes kept,
 * plus ferry's own additions from scripts/opennebula (the fast xpath.rb
 * drop-in, its Ruby stubs, the onevm/onedatastore/onehost shims). ferry then
 * runs DEST/var/remotes.
 */
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { packageRoot } from '../config/paths.js';
import { FerryError } from '../errors.js';
import { inside } from '../fs/inside.js';
import { linkedDrivers, settleLinks } from './import-links.js';
import { driverId, REMOTES, type DriverRef, type PlanEntry } from './import-plan.js';
import { scanSource, type Layout } from './import-source.js';
import { inspect, unitsOf, writeUnits } from './import-write.js';

export type { Layout } from './import-source.js';

export interface ImportOptions {
  /** Driver names ("fs", "ssh") or ids ("tm/shared") to install; helpers are always installed. Default: every driver. */
  only?: readonly string[];
  /** Replace driver folders (and differing helper files) already in DEST. */
  force?: boolean;
  /** Plan and check only; write nothing. */
  dryRun?: boolean;
  /** ferry's additions for a ONE root; default <package root>/scripts/opennebula. */
  extras?: string;
}

export interface ImportReport {
  src: string;
  layout: Layout;
  dest: string;
  /** DEST/var/remotes: what ferry runs (--remotes, or remotes: in ferry.yaml). */
  remotes: string;
  dryRun: boolean;
  drivers: { datastore: string[]; tm: string[] };
  /** Drivers installed although not in --only, because a selected driver's links lead into them. */
  linked: string[];
  /** DEST paths already there that were (or would be) replaced. */
  replaced: string[];
  /** DEST paths already there exactly as planned, left alone. */
  unchanged: string[];
  /** Plain files of SRC made links again (a checkout without symlinks). */
  restoredLinks: number;
  notes: string[];
  entries: Array<{ to: string; type: PlanEntry['type']; from?: string; target?: string; driver?: string; origin: PlanEntry['origin'] }>;
}

export function defaultExtras(): string {
  return join(packageRoot(), 'scripts', 'opennebula');
}

export function importDrivers(src: string, destArg: string, options: ImportOptions = {}): ImportReport {
  const scan = scanSource(src);
  const dest = resolve(destArg);
  refuseOverlap(scan.root, dest);
  const settled = settleLinks(scan);
  const notes = [...scan.notes, ...settled.notes];
  const selected = select(settled.drivers, options.only);
  const linked = linkedDrivers(settled.entries, settled.drivers, selected);
  const drivers = settled.drivers.filter((driver) => selected.has(driverId(driver.kind, driver.name)));
  const opennebula = settled.entries.filter((entry) => entry.driver === undefined || selected.has(entry.driver));
  const entries = [...opennebula, ...ferryEntries(options.extras ?? defaultExtras(), scan.xpath, opennebula, notes), { to: 'var/datastores', type: 'dir' as const, origin: 'ferry' as const }];

  const destStats = lstatSync(dest, { throwIfNoEntry: false });
  if (destStats !== undefined && !destStats.isDirectory()) throw new FerryError('E_USAGE', `${destArg} exists and is not a folder`, { hint: 'DEST is the folder to install into (an OpenNebula install root); give a new or existing folder' });
  const states = destStats === undefined ? unitsOf(entries, drivers).map((unit) => ({ unit, state: 'new' as const })) : inspect(dest, unitsOf(entries, drivers));
  const differing = states.filter((state) => state.state === 'differs');
  if (differing.length > 0 && options.force !== true) {
    const lines = differing.map(({ unit }) =>
      unit.driver !== undefined && unit.path === driverPath(drivers, unit.driver)
        ? `  ${join(dest, unit.path)}: ${unit.driver} is already installed`
        : `  ${join(dest, unit.path)} exists and differs from what would be installed`,
    );
    throw new FerryError('E_CONFLICT', `${differing.length} thing${differing.length === 1 ? '' : 's'} in ${dest} would be replaced:\n${lines.join('\n')}`, {
      hint: `add --force to replace ${differing.length === 1 ? 'it' : 'them'}${drivers.length > 1 ? ', or --only to import other drivers' : ''}`,
    });
  }
  if (options.dryRun !== true) writeUnits(dest, states);

  const names = (kind: DriverRef['kind']) => drivers.filter((driver) => driver.kind === kind).map((driver) => driver.name);
  return {
    src: scan.root,
    layout: scan.layout,
    dest,
    remotes: join(dest, REMOTES),
    dryRun: options.dryRun === true,
    drivers: { datastore: names('datastore'), tm: names('tm') },
    linked,
    replaced: differing.map((state) => state.unit.path),
    unchanged: states.filter((state) => state.state === 'same').map((state) => state.unit.path),
    restoredLinks: settled.restored,
    notes,
    entries: entries
      .map((entry) => ({
        to: entry.to,
        type: entry.type,
        ...(entry.from !== undefined ? { from: entry.from } : {}),
        ...(entry.target !== undefined ? { target: entry.target } : {}),
        ...(entry.driver !== undefined ? { driver: entry.driver } : {}),
        origin: entry.origin,
      }))
      .sort((a, b) => a.to.localeCompare(b.to)),
  };
}

function driverPath(drivers: readonly DriverRef[], id: string): string | undefined {
  return drivers.find((driver) => driverId(driver.kind, driver.name) === id)?.to;
}

/** Installing into SRC, or SRC into DEST, would read what it writes. */
function refuseOverlap(src: string, dest: string): void {
  let existing = dest;
  while (lstatSync(existing, { throwIfNoEntry: false }) === undefined && dirname(existing) !== existing) existing = dirname(existing);
  const real = join(realpathSync(existing), dest.slice(existing.length));
  if (real === src || inside(src, real) || inside(real, src)) {
    throw new FerryError('E_USAGE', `DEST ${dest} and SRC ${src} overlap`, { hint: 'install into a folder outside the OpenNebula sources (and not holding them)' });
  }
}

/** The drivers --only names (all without it); a name unknown is a usage error listing the names there are. */
function select(drivers: readonly DriverRef[], only: readonly string[] | undefined): Set<string> {
  const ids = drivers.map((driver) => driverId(driver.kind, driver.name));
  if (only === undefined) return new Set(ids);
  const selected = new Set<string>();
  for (const name of only) {
    const matches = ids.filter((id) => id === name || id.endsWith(`/${name}`));
    if (matches.length === 0) {
      throw new FerryError('E_USAGE', `--only ${JSON.stringify(name)}: SRC has no such driver`, { hint: `its drivers: ${ids.join(', ') || '(none)'}` });
    }
    for (const id of matches) selected.add(id);
  }
  return selected;
}

/**
 * ferry's additions: the xpath.rb drop-in (OpenNebula's own xpath.rb kept
 * beside it as xpath-rexml.rb, its exact fallback), lib/ruby/*, bin/* and
 * remotes-etc/* (into var/remotes/etc), none over an OpenNebula file of the
 * same name.
 */
function ferryEntries(extras: string, xpath: string | undefined, opennebula: readonly PlanEntry[], notes: string[]): PlanEntry[] {
  const entries: PlanEntry[] = [];
  const original = (to: string): PlanEntry | undefined => {
    if (xpath === undefined) return undefined;
    return { to, type: 'file', from: xpath, mode: lstatSync(xpath).mode & 0o7777, origin: 'opennebula' };
  };
  const rexml = original(`${REMOTES}/datastore/xpath-rexml.rb`);
  if (rexml) entries.push(rexml);
  else notes.push('SRC has no datastore xpath.rb: OpenNebula\'s drivers will not find their XML fields');
  const dropIn = lstatSync(join(extras, 'xpath.rb'), { throwIfNoEntry: false });
  if (dropIn?.isFile() === true) {
    entries.push({ to: `${REMOTES}/datastore/xpath.rb`, type: 'file', from: join(extras, 'xpath.rb'), mode: dropIn.mode & 0o7777, origin: 'ferry' });
  } else {
    const plain = original(`${REMOTES}/datastore/xpath.rb`);
    if (plain) entries.push(plain);
    notes.push(`${join(extras, 'xpath.rb')} is missing: datastore/xpath.rb is OpenNebula's own (Ruby for every lookup)`);
  }
  const taken = new Set(opennebula.map((entry) => entry.to));
  // remotes-etc: settings files OpenNebula's scripts source from drivers that are not storage drivers (vmm/kvm/kvmrc).
  for (const [folder, to] of [['lib/ruby', 'lib/ruby'], ['bin', 'bin'], ['remotes-etc', `${REMOTES}/etc`]] as const) {
    for (const file of filesBelow(join(extras, folder))) {
      const path = `${to}/${file.rel}`;
      if (taken.has(path)) notes.push(`kept OpenNebula's ${path} (ferry's ${join(extras, folder, file.rel)} is not installed over it)`);
      else entries.push({ to: path, type: 'file', from: file.path, mode: file.mode, origin: 'ferry' });
    }
  }
  return entries;
}

/** The regular files below `dir` (none when it is missing), links skipped. */
function filesBelow(dir: string, rel = ''): Array<{ rel: string; path: string; mode: number }> {
  const here = join(dir, rel);
  if (lstatSync(here, { throwIfNoEntry: false })?.isDirectory() !== true) return [];
  return readdirSync(here)
    .sort()
    .flatMap((name) => {
      const sub = rel === '' ? name : `${rel}/${name}`;
      const stats = lstatSync(join(dir, sub));
      if (stats.isDirectory()) return filesBelow(dir, sub);
      return stats.isFile() ? [{ rel: sub, path: join(dir, sub), mode: stats.mode & 0o7777 }] : [];
    });
}
