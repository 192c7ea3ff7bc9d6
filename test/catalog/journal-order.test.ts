/**
 * Journal ids are committed in the order they are given (issue 17): a reader tailing the journal by afterId (the
 * metrics, the dashboard's live steps, op wait) never skips an entry whose lower id committed after a higher one.
 * A writer's entry waits for an earlier writer's transaction to end, on both stores.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tmpDir } from '../helpers/fixtures.js';
import { fresh, waitExit } from './seed.js';

const entry = { operation: 'create', step: null, kind: 'tm', driver: 'dummy', action: 'clone', args: [], ok: true, exitCode: 0, durationMs: 1, message: null, logs: [] };

t.test('an entry recorded while another writer holds an uncommitted one commits after it', async (t) => {
  const built = join(import.meta.dirname, '../../dist/catalog/catalog.js');
  t.ok(existsSync(built), `${built} is missing: run npm run build (node scripts/build.mjs) before the tests`);
  const { catalog, path } = fresh(t);
  catalog.record({ ...entry, subject: 'vm:0' });
  const flag = join(tmpDir(t), 'recorded');
  // The other writer records, says so, and holds its transaction open for a second before it commits.
  const script = `
    import { writeFileSync } from 'node:fs';
    const { Catalog } = await import(${JSON.stringify(built)});
    const c = Catalog.open(process.argv[1]);
    c.transaction(() => {
      c.record(${JSON.stringify({ ...entry, subject: 'vm:1' })});
      writeFileSync(process.argv[2], '');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    });
    c.close();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, path, flag], { stdio: ['ignore', 'inherit', 'inherit'] });
  while (!existsSync(flag)) await new Promise((resolve) => setTimeout(resolve, 10));
  catalog.record({ ...entry, subject: 'vm:2' });
  const seen = catalog.journalPage({ afterId: 0, limit: 10 }).map((each) => each.subject);
  t.same(seen, ['vm:0', 'vm:1', 'vm:2'], 'when the later entry is in, the earlier one is in before it');
  t.equal(await waitExit(child), 0);
});
