/**
 * What the tm/shared and tm/qcow2 tests run alike. exampleVm: the spec's
 * "An Example VM" as transfer files for one TM driver: CREATE (clone
 * disk.0, link disk.1), STOP, RESUME and MIGRATE host01 -> host02 (each
 * moves both disks, then the VM folder), SHUTDOWN and SHUTDOWN again. Each
 * step must run every line and print nothing; what a step leaves behind is
 * the calling test's to assert. cloneOfMissing: the refusal of a SOURCE
 * that does not exist.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Runner } from '../../src/driver/runner.js';
import { runTransfer } from '../../src/driver/transfer.js';
import type { FerryError } from '../../src/errors.js';
import { rejection } from './fixtures.js';
import { datastores, MiB, sparseImage, writeAt } from './images.js';

/**
 * The Example VM of VM 7 in the datastores `w`: `image` (made by the caller)
 * is cloned to disk.0; a 16 MiB persistent image ab12, made here, is linked
 * as disk.1.
 */
export function exampleVm(t: Test, runner: Runner, driver: string, w: ReturnType<typeof datastores>, image: string) {
  const pers = join(w.images, 'ab12');
  const persBytes = sparseImage(pers, 16, [[0, 4096]]);
  const ds = w.vm;
  const steps = async (name: string, text: string, lines: number) => {
    const outcome = await runTransfer(runner, text);
    t.equal(outcome.results.length, lines, `${name}: every line ran`);
    t.same(outcome.results.map((r) => r.stdout), new Array(lines).fill(''), `${name}: TM actions print nothing`);
  };
  return {
    pers,
    /** The persistent image's bytes before the VM runs. */
    persBytes,
    /** The VM folder on every host. */
    ds,
    disk0: join(ds, 'disk.0'),
    disk1: join(ds, 'disk.1'),
    create: () =>
      steps('CREATE', `
# CREATE
CLONE ${driver} fe:${image} host01:${ds}/disk.0 7 0
LN ${driver} fe:${pers} host01:${ds}/disk.1 7 0
`, 2),
    /** STOP, RESUME and MIGRATE, with `after(step)` called after each. */
    async moves(after: (step: string) => void): Promise<void> {
      for (const [step, from, to] of [['STOP', 'host01', 'fe'], ['RESUME', 'fe', 'host01'], ['MIGRATE', 'host01', 'host02']] as const) {
        await steps(step, `
# ${step}
MV ${driver} ${from}:${ds}/disk.0 ${to}:${ds}/disk.0 7 0
MV ${driver} ${from}:${ds}/disk.1 ${to}:${ds}/disk.1 7 0
MV ${driver} ${from}:${ds} ${to}:${ds} 7 0
`, 3);
        after(step);
      }
    },
    /** On host02, where MIGRATE left the VM. */
    shutdown: () =>
      steps('SHUTDOWN', `
DELETE ${driver} host02:${ds}/disk.0 7 0
MVDS ${driver} host02:${ds}/disk.1 ${pers} 7 1
DELETE ${driver} host02:${ds} 7 0
`, 3),
    shutdownAgain: () =>
      steps('SHUTDOWN again', `
DELETE ${driver} host02:${ds}/disk.0 7 0
DELETE ${driver} host02:${ds} 7 0
`, 2),
  };
}

/** The VM writes 8 KiB of random bytes at 3 MiB of disk.1 (the persistent disk); returns what the persistent image holds after SHUTDOWN. */
export function guestWritesPersistent(disk1: string, persBytes: Buffer): Buffer {
  const written = randomBytes(8192);
  writeAt(disk1, 3 * MiB, written);
  const persExpected = Buffer.from(persBytes);
  written.copy(persExpected, 3 * MiB);
  return persExpected;
}

/** clone of a SOURCE that does not exist is refused (E_DRIVER_FAILED) naming the image, and makes no VM folder; returns the error. */
export async function cloneOfMissing(t: Test, tm: (action: 'clone', ...args: string[]) => Promise<unknown>, w: ReturnType<typeof datastores>): Promise<FerryError> {
  const missing = join(w.images, 'no-such-image');
  const error = await rejection(tm('clone', `fe:${missing}`, `host01:${w.vm}/disk.0`, '7', '0'));
  t.equal(error.code, 'E_DRIVER_FAILED');
  t.match(error.message, missing, 'the message names the missing image');
  t.notOk(existsSync(w.vm), 'no VM folder was made');
  return error;
}
