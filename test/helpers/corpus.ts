/** Where the OpenNebula corpus is (FERRY_OPENNEBULA_SRC), and whether Debian's ruby is there: tests that need them fail, saying what to do. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

interface Failable {
  fail(message: string): unknown;
}

/** The folder holding OpenNebula's `src/`, from FERRY_OPENNEBULA_SRC; fails the test without it. */
export function corpusRoot(t: Failable): string {
  const root = process.env.FERRY_OPENNEBULA_SRC;
  if (root && existsSync(join(root, 'src'))) return resolve(root);
  const message = `set FERRY_OPENNEBULA_SRC to a copy of OpenNebula's sources (e.g. ../shared/opennebula)${root ? `: ${root}/src does not exist` : ''}`;
  t.fail(message);
  throw new Error(message);
}

/** Whether ruby (with REXML) runs; fails the test without it. */
export function rubyAvailable(t: Failable): boolean {
  if (spawnSync('ruby', ['-e', 'require "rexml/document"'], { stdio: 'ignore' }).status === 0) return true;
  t.fail("install Debian's ruby (scripts/setup.sh does)");
  return false;
}
