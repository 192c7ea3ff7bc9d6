/**
 * Reading SRC for `ferry drivers import`: which of the two layouts it is (an
 * OpenNebula source checkout, or an installed remotes folder) and where each
 * of its files goes in a ONE root, as OpenNebula's install.sh puts them.
 * Nothing here follows a link out of SRC: folders are walked without
 * following links, and a link is refused unless its real target is inside SRC.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { FerryError } from '../errors.js';
import { inside } from '../fs/inside.js';
import { REMOTES, driverId, driverRoot, type DriverKind, type DriverRef, type PlanEntry } from './import-plan.js';

export type Layout = 'source' | 'remotes';

export interface SourceScan {
  layout: Layout;
  /** SRC's real path. */
  root: string;
  entries: PlanEntry[];
  drivers: DriverRef[];
  /** Top-level plain files that may be links stored as files (tm_mad/shared): drivers if they resolve, else dropped. */
  maybeDriverLinks: DriverRef[];
  notes: string[];
  /** SRC path of OpenNebula's own xpath.rb (installed as xpath-rexml.rb, and as xpath.rb without ferry's drop-in). */
  xpath?: string;
}

/** Folders of datastore/ and tm/ that are shared helpers, not drivers. */
const HELPER_DIRS: Record<DriverKind, readonly string[]> = { datastore: ['common'], tm: ['common', 'lib'] };
/** A driver folder's configuration files, which OpenNebula installs under remotes/etc/<kind>/<driver>/. */
const CONFIG_FILE = /(\.conf|rc)$/;

const isDir = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
const isFile = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isFile() === true;

/** Which layout `src` is, or a usage error naming what each layout needs. */
export function scanSource(src: string): SourceScan {
  let root: string;
  try {
    root = realpathSync(src);
  } catch {
    throw new FerryError('E_USAGE', `${src} does not exist`, { hint: 'give an OpenNebula source checkout (or its src/ folder), or an installed remotes folder such as /var/lib/one/remotes' });
  }
  if (!isDir(root)) throw new FerryError('E_USAGE', `${src} is not a folder`, { hint: 'give an OpenNebula source checkout (or its src/ folder), or an installed remotes folder such as /var/lib/one/remotes' });
  const walker = new Walker(root);
  for (const base of [join(root, 'src'), root]) {
    if (isDir(join(base, 'datastore_mad', 'remotes')) && isDir(join(base, 'tm_mad')) && isFile(join(base, 'mad', 'sh', 'scripts_common.sh'))) {
      return walker.source(walker.real(base));
    }
  }
  if (isDir(join(root, 'datastore')) && isDir(join(root, 'tm')) && isFile(join(root, 'scripts_common.sh'))) return walker.remotes();
  const nested = isDir(join(root, 'var', 'remotes', 'datastore')) ? ` (${join(src, 'var', 'remotes')} looks like one)` : '';
  throw new FerryError('E_USAGE', `${src} is neither an OpenNebula source tree nor an installed remotes folder`, {
    hint:
      'give an OpenNebula source checkout or its src/ folder (with datastore_mad/remotes, tm_mad and mad/sh/scripts_common.sh), ' +
      `or an installed remotes folder (with datastore/, tm/ and scripts_common.sh, as /var/lib/one/remotes)${nested}`,
  });
}

class Walker {
  readonly entries: PlanEntry[] = [];
  readonly drivers: DriverRef[] = [];
  readonly maybeDriverLinks: DriverRef[] = [];
  readonly notes: string[] = [];
  xpath: string | undefined;

  constructor(readonly root: string) {}

  /** The real path of a folder SRC's layout names, which must stay inside SRC. */
  real(path: string): string {
    const real = realpathSync(path);
    if (real !== this.root && !inside(this.root, real)) throw this.outside(path, real);
    return real;
  }

  private outside(path: string, target: string): FerryError {
    return new FerryError('E_USAGE', `${path} is a link to ${target}, outside ${this.root}: refusing to install from outside the source`, {
      hint: 'replace the link with the file it points at, or import from the folder it points into',
    });
  }

  private result(layout: Layout): SourceScan {
    return {
      layout,
      root: this.root,
      entries: this.entries,
      drivers: this.drivers,
      maybeDriverLinks: this.maybeDriverLinks,
      notes: this.notes,
      ...(this.xpath !== undefined ? { xpath: this.xpath } : {}),
    };
  }

  /** Layout (a): an OpenNebula source tree; `base` holds datastore_mad/, tm_mad/ and mad/. */
  source(base: string): SourceScan {
    const ds = this.real(join(base, 'datastore_mad', 'remotes'));
    this.kindFolder('datastore', ds, true, (name, path, stats) => {
      if (name === 'xpath.rb' && !stats.isSymbolicLink()) this.xpath = path;
      else if (name.endsWith('.conf')) this.add(path, stats, `${REMOTES}/etc/datastore/${name}`);
      else this.add(path, stats, `${REMOTES}/datastore/${name}`);
    });
    for (const [name, path, stats] of this.list(join(base, 'datastore_mad'))) {
      if (name.startsWith('one_datastore') && !stats.isDirectory()) this.add(path, stats, `lib/mads/${name}`);
    }
    this.kindFolder('tm', this.real(join(base, 'tm_mad')), true, (name, path, stats) => {
      if (name === 'tmrc') this.add(path, stats, 'etc/tmrc');
      else if (name.startsWith('one_tm')) this.add(path, stats, `lib/mads/${name}`);
      else if (name.endsWith('.sh')) this.add(path, stats, `${REMOTES}/tm/${name}`);
      else if (name.endsWith('.conf')) this.add(path, stats, `${REMOTES}/etc/tm/${name}`);
      else if (name.endsWith('.rb')) this.notes.push(`not installed: ${path} (not part of the remotes)`);
      else this.driverLink('tm', name, path, stats);
    });
    for (const [name, path, stats] of this.list(this.real(join(base, 'mad', 'sh')))) {
      if (stats.isDirectory()) continue;
      // scripts_common.sh goes to both places: lib/sh/ for the scripts that source it from there, and the remotes folder.
      if (name === 'scripts_common.sh') this.add(path, stats, `${REMOTES}/scripts_common.sh`);
      if (name === 'madcommon.sh') this.add(path, stats, `lib/mads/${name}`);
      else if (name.endsWith('.sh')) this.add(path, stats, `lib/sh/${name}`);
    }
    if (isDir(join(base, 'mad', 'ruby'))) {
      for (const [name, path, stats] of this.list(this.real(join(base, 'mad', 'ruby')))) {
        if (!stats.isDirectory() && name.endsWith('.rb')) this.add(path, stats, `lib/ruby/${name}`);
      }
    } else {
      this.notes.push(`${join(base, 'mad', 'ruby')} is missing: OpenNebula's Ruby libraries (lib/ruby) are not installed`);
    }
    return this.result('source');
  }

  /** Layout (b): an installed remotes folder, /var/lib/one/remotes style. */
  remotes(): SourceScan {
    const ds = join(this.root, 'datastore');
    // A remotes folder ferry imported before holds ferry's drop-in as xpath.rb and OpenNebula's original as xpath-rexml.rb.
    const imported = lstatSync(join(ds, 'xpath-rexml.rb'), { throwIfNoEntry: false })?.isFile() === true;
    this.kindFolder('datastore', this.real(ds), false, (name, path, stats) => {
      if (imported ? name === 'xpath-rexml.rb' : name === 'xpath.rb' && !stats.isSymbolicLink()) this.xpath = path;
      else if (name === 'xpath.rb' || name === 'xpath-rexml.rb') return;
      else this.add(path, stats, `${REMOTES}/datastore/${name}`);
    });
    this.kindFolder('tm', this.real(join(this.root, 'tm')), false, (name, path, stats) => {
      if (!stats.isSymbolicLink() && !/\.(sh|rb)$/.test(name)) this.driverLink('tm', name, path, stats);
      else this.add(path, stats, `${REMOTES}/tm/${name}`);
    });
    const common = join(this.root, 'scripts_common.sh');
    const stats = lstatSync(common);
    this.add(common, stats, `${REMOTES}/scripts_common.sh`);
    this.add(common, stats, 'lib/sh/scripts_common.sh');
    for (const kind of ['datastore', 'tm'] as const) {
      const etc = join(this.root, 'etc', kind);
      if (isDir(etc)) this.tree(this.real(etc), `${REMOTES}/etc/${kind}`);
    }
    this.notes.push('SRC is a remotes folder: OpenNebula\'s Ruby libraries (lib/ruby), lib/mads and etc/tmrc are not in it and are not installed');
    return this.result('remotes');
  }

  /**
   * One kind's folder: its subfolders are drivers (or shared helpers such as
   * common/), each driver's *.conf and *rc go to remotes/etc/<kind>/<driver>/
   * when `moveConfig` (the source layout), and its top-level files go where
   * `file` says.
   */
  private kindFolder(kind: DriverKind, dir: string, moveConfig: boolean, file: (name: string, path: string, stats: Stats) => void): void {
    for (const [name, path, stats] of this.list(dir)) {
      if (stats.isDirectory()) {
        if (HELPER_DIRS[kind].includes(name)) {
          this.tree(path, `${REMOTES}/${kind}/${name}`);
        } else {
          const driver = { kind, name, to: driverRoot(kind, name) };
          this.drivers.push(driver);
          this.tree(path, driver.to, driverId(kind, name), moveConfig ? `${REMOTES}/etc/${kind}/${name}` : undefined);
        }
      } else if (stats.isSymbolicLink() && isDir(path)) {
        this.driverLink(kind, name, path, stats);
      } else if (stats.isFile() || stats.isSymbolicLink()) {
        file(name, path, stats);
      }
    }
  }

  /** A top-level link (or a plain file that may be one, as tm_mad/shared is in a checkout without links) that names a driver. */
  private driverLink(kind: DriverKind, name: string, path: string, stats: Stats): void {
    const driver = { kind, name, to: driverRoot(kind, name) };
    if (stats.isSymbolicLink()) this.drivers.push(driver);
    else this.maybeDriverLinks.push(driver);
    this.add(path, stats, driver.to, driverId(kind, name));
  }

  /** A folder's entries (name, path, lstat), sorted, links not followed. */
  private list(dir: string): Array<[string, string, Stats]> {
    return readdirSync(dir)
      .sort()
      .map((name) => [name, join(dir, name), lstatSync(join(dir, name))] as [string, string, Stats]);
  }

  /** Every file and link below `dir` to the same places below `to`; top-level config files to `configTo` when given. */
  private tree(dir: string, to: string, driver?: string, configTo?: string): void {
    for (const [name, path, stats] of this.list(dir)) {
      if (stats.isDirectory()) this.tree(path, `${to}/${name}`, driver);
      else if (configTo !== undefined && stats.isFile() && (stats.mode & 0o111) === 0 && CONFIG_FILE.test(name)) this.add(path, stats, `${configTo}/${name}`, driver);
      else if (stats.isFile() || stats.isSymbolicLink()) this.add(path, stats, `${to}/${name}`, driver);
      else this.notes.push(`not installed: ${path} (not a file, folder or link)`);
    }
  }

  /** One file or link. A link must lead inside SRC; where it leads is settled later, once the whole plan is known. */
  private add(path: string, stats: Stats, to: string, driver?: string): void {
    const owner = driver !== undefined ? { driver } : {};
    if (!stats.isSymbolicLink()) {
      this.entries.push({ to, type: 'file', from: path, mode: stats.mode & 0o7777, origin: 'opennebula', ...owner });
      return;
    }
    const target = readlinkSync(path);
    let real: string | undefined;
    try {
      real = realpathSync(path);
    } catch {
      real = undefined;
    }
    const lands = real ?? resolve(join(path, '..'), target);
    if (lands !== this.root && !inside(this.root, lands)) throw this.outside(path, target);
    this.entries.push({ to, type: 'link', target, origin: 'opennebula', ...(real !== undefined ? { srcTarget: real } : {}), ...owner });
  }
}
