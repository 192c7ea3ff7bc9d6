/**
 * Writing an import plan into DEST without leaving anything half-written:
 * into a new DEST, the whole tree is built next to it and renamed into place;
 * into an existing one, each driver folder and each other file is built under
 * a temporary name beside its place, and only once all are built is each
 * renamed into place (a driver folder it replaces is moved aside first, then
 * removed). Conflicts are found before anything is written.
 */
import { copyFileSync, chmodSync, constants, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { FerryError } from '../errors.js';
import type { DriverRef, PlanEntry } from './import-plan.js';
import { driverId } from './import-plan.js';

/** One thing renamed into place: a driver's folder (or link) with everything below it, or one other entry. */
export interface Unit {
  /** DEST-relative. */
  path: string;
  entries: PlanEntry[];
  /** The driver whose folder this is. */
  driver?: string;
}

export interface UnitState {
  unit: Unit;
  /** new: nothing there; same: already exactly this (left alone); differs: something else is there. */
  state: 'new' | 'same' | 'differs';
}

/** The units of a plan: one per driver folder, one per entry outside them. */
export function unitsOf(entries: readonly PlanEntry[], drivers: readonly DriverRef[]): Unit[] {
  const units: Unit[] = [];
  const rest = new Set(entries);
  for (const driver of drivers) {
    const below = entries.filter((entry) => entry.to === driver.to || entry.to.startsWith(`${driver.to}/`));
    if (below.length === 0) continue;
    for (const entry of below) rest.delete(entry);
    units.push({ path: driver.to, entries: below, driver: driverId(driver.kind, driver.name) });
  }
  for (const entry of rest) units.push({ path: entry.to, entries: [entry], ...(entry.driver !== undefined ? { driver: entry.driver } : {}) });
  return units;
}

/** What is at each unit's place in DEST now. A driver folder that exists always differs: it is replaced only with --force. */
export function inspect(dest: string, units: readonly Unit[]): UnitState[] {
  return units.map((unit) => {
    const at = join(dest, unit.path);
    const stats = lstatSync(at, { throwIfNoEntry: false });
    if (stats === undefined) return { unit, state: 'new' };
    if (unit.entries.length !== 1 || unit.entries[0]?.to !== unit.path || isDriverFolder(unit)) return { unit, state: 'differs' };
    return { unit, state: same(unit.entries[0], at) ? 'same' : 'differs' };
  });
}

const isDriverFolder = (unit: Unit): boolean => unit.driver !== undefined && unit.entries.some((entry) => entry.to !== unit.path);

function same(entry: PlanEntry, at: string): boolean {
  const stats = lstatSync(at);
  if (entry.type === 'dir') return stats.isDirectory();
  if (entry.type === 'link') return stats.isSymbolicLink() && readlinkSync(at) === entry.target;
  if (!stats.isFile() || (stats.mode & 0o7777) !== entry.mode) return false;
  const from = entry.from as string;
  return statSync(from).size === stats.size && readFileSync(from).equals(readFileSync(at));
}

/** Writes the units that are new or differ. `dest` need not exist. */
export function writeUnits(dest: string, states: readonly UnitState[]): void {
  const todo = states.filter((state) => state.state !== 'same').map((state) => state.unit);
  if (lstatSync(dest, { throwIfNoEntry: false }) === undefined) {
    mkdirSync(dirname(dest), { recursive: true });
    const staging = tempName(dest, 'import');
    try {
      mkdirSync(staging, { mode: 0o755 });
      for (const unit of todo) build(unit, join(staging, unit.path));
      renameSync(staging, dest);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw writeError(dest, error);
    }
    return;
  }
  const built: Array<{ unit: Unit; temp: string }> = [];
  try {
    for (const unit of todo) {
      const place = join(dest, unit.path);
      mkdirSync(dirname(place), { recursive: true, mode: 0o755 });
      const temp = tempName(place, 'import');
      built.push({ unit, temp });
      build(unit, temp);
    }
  } catch (error) {
    for (const { temp } of built) rmSync(temp, { recursive: true, force: true });
    throw writeError(dest, error);
  }
  for (const [i, { unit, temp }] of built.entries()) {
    const place = join(dest, unit.path);
    try {
      const old = lstatSync(place, { throwIfNoEntry: false });
      // rename() replaces a file or link in one step; a folder must be moved aside first.
      if (old?.isDirectory() === true) {
        const aside = tempName(place, 'old');
        renameSync(place, aside);
        renameSync(temp, place);
        rmSync(aside, { recursive: true, force: true });
      } else if (unit.entries[0]?.type === 'dir' && old?.isDirectory() !== true && old !== undefined) {
        rmSync(place, { force: true });
        renameSync(temp, place);
      } else {
        renameSync(temp, place);
      }
    } catch (error) {
      for (const left of built.slice(i)) rmSync(left.temp, { recursive: true, force: true });
      throw writeError(dest, error);
    }
  }
}

/** Builds `unit` at `at` (its own place, or a temporary name beside it). */
function build(unit: Unit, at: string): void {
  for (const entry of unit.entries) {
    const path = entry.to === unit.path ? at : join(at, entry.to.slice(unit.path.length + 1));
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (entry.type === 'dir') mkdirSync(path, { recursive: true, mode: 0o755 });
    else if (entry.type === 'link') symlinkSync(entry.target as string, path);
    else {
      copyFileSync(entry.from as string, path, constants.COPYFILE_EXCL);
      chmodSync(path, entry.mode as number);
    }
  }
}

function tempName(place: string, what: string): string {
  return join(dirname(place), `.${basename(place)}.ferry-${what}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function writeError(dest: string, error: unknown): FerryError {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return new FerryError('E_USAGE', `cannot write into ${dest}: ${message}`, {
    hint: code === 'EACCES' || code === 'EPERM' ? 'choose a folder you can write to' : 'check DEST (a file where a folder is needed?) and try again; nothing was replaced',
    cause: error,
  });
}
