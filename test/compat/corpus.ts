/** Where OpenNebula's sources are (FERRY_OPENNEBULA_SRC) and whether Ruby is here: the tests that need them fail without, saying what to do. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Test } from 'tap';

/** The folder that holds OpenNebula's `src/`; fails the test when FERRY_OPENNEBULA_SRC is not set to one. */
export function corpusRoot(t: Test): string {
  const root = process.env.FERRY_OPENNEBULA_SRC;
  if (!root || !existsSync(join(root, 'src'))) {
    t.fail('set FERRY_OPENNEBULA_SRC to a copy of OpenNebula\'s sources (the folder holding src/, e.g. ../shared/opennebula)');
    return '';
  }
  return resolve(root);
}

/** Whether `ruby` runs; fails the test when not. */
export function rubyAvailable(t: Test): boolean {
  try {
    execFileSync('ruby', ['-e', 'exit 0'], { stdio: 'ignore' });
    return true;
  } catch {
    t.fail('ruby is missing: install Debian\'s ruby (scripts/setup.sh does)');
    return false;
  }
}
