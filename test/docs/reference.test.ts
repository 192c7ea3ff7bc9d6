/**
 * The reference tables that restate code say what the code says: the error
 * codes of docs/commands.md and the exit status of each, and the statuses of
 * the README's summary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { EXIT_STATUS } from '../../src/index.js';
import { repoRoot } from './markdown.js';

/** `| \`CODE\` | status |` rows of a Markdown text, as code -> status. */
function codeRows(text: string): Map<string, number> {
  return new Map([...text.matchAll(/^\| `(E_[A-Z_]+)` \| (\d+) \|/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

/** The statuses of `| N | meaning |` rows. */
function statusRows(text: string): Set<number> {
  return new Set([...text.matchAll(/^\| (\d+) \| /gm)].map((m) => Number(m[1])));
}

t.test('docs/commands.md lists every error code with its exit status, and no other', async (t) => {
  const rows = codeRows(readFileSync(join(repoRoot, 'docs', 'commands.md'), 'utf8'));
  t.same(Object.fromEntries(rows), { ...EXIT_STATUS });
});

t.test('the exit status tables have every status a code maps to', async (t) => {
  for (const page of ['README.md', join('docs', 'commands.md')]) {
    const listed = statusRows(readFileSync(join(repoRoot, page), 'utf8'));
    for (const status of new Set([0, ...Object.values(EXIT_STATUS), 130])) t.ok(listed.has(status), `${page} explains exit status ${status}`);
  }
});

t.test('docs/workers.md says of each action what the contract table says: safe to repeat or not', async (t) => {
  const { CONTRACT } = await import('../../src/contract/table.js');
  const text = readFileSync(join(repoRoot, 'docs', 'workers.md'), 'utf8');
  const cells = [...text.matchAll(/^\| ((?:tm|datastore): [^|]+)\| ((?:tm|datastore): [^|]+)\|$/gm)];
  t.equal(cells.length, 2, 'a tm row and a datastore row');
  const named = (cell: string): string[] => cell.replace(/^\w+: /, '').split(',').map((name) => name.trim());
  for (const [, safe, unsafe] of cells) {
    const kind = (safe as string).startsWith('tm') ? 'tm' : 'datastore';
    const rows = CONTRACT[kind] as Record<string, { repeatSafe: boolean }>;
    t.same(named(safe as string).sort(), Object.keys(rows).filter((action) => rows[action]?.repeatSafe).sort(), `${kind}: the safe ones`);
    t.same(named(unsafe as string).sort(), Object.keys(rows).filter((action) => !rows[action]?.repeatSafe).sort(), `${kind}: the others`);
  }
});
