/**
 * OpenNebula's own xpath.rb (from FERRY_OPENNEBULA_SRC, run by Debian's
 * ruby) reading a document from stdin, as the driver scripts call it:
 * `xpath.rb --stdin EXPR...`, values NUL-terminated (its exit status is
 * the number of elements not found, which the scripts ignore). Its
 * `load_opennebula_paths` (not in the corpus) is an empty stub in a temp dir.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { tmpDir } from './fixtures.js';
import { corpusRoot, rubyAvailable } from './corpus.js';

export type XpathRb = (xml: string, ...exprs: string[]) => string[];

/** A reader running OpenNebula's xpath.rb, or undefined (the test has failed saying what to set or install). */
export function xpathRb(t: Test): XpathRb | undefined {
  const root = corpusRoot(t);
  if (!root || !rubyAvailable(t)) return undefined;
  const stub = tmpDir(t, 'ferry-one-stub-');
  writeFileSync(join(stub, 'load_opennebula_paths.rb'), '# ferry test stub: OpenNebula\'s install-time paths file\n');
  const script = join(root, 'src', 'datastore_mad', 'remotes', 'xpath.rb');
  return (xml, ...exprs) => {
    const run = spawnSync('ruby', ['-I', stub, script, '--stdin', ...exprs], { input: xml, encoding: 'utf8', env: { ...process.env, ONE_LOCATION: stub } });
    if (run.error || run.signal || run.stderr !== '') throw new Error(`xpath.rb failed (${run.status ?? run.signal}): ${run.error?.message ?? run.stderr}`);
    const out = run.stdout;
    if (exprs.length > 0 && !out.endsWith('\0')) throw new Error(`xpath.rb output does not end with NUL: ${JSON.stringify(out)}`);
    return out.slice(0, -1).split('\0');
  };
}
