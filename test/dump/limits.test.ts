/** Dumps that cannot be real are refused before they cost memory or crash the parser (issue 13's hostile inputs). */
import t from 'tap';
import { dumpFromBase64, readDump } from '../../src/dump/dump.js';
import { MAX_DUMP_BYTES, MAX_DUMP_DEPTH } from '../../src/dump/xml.js';
import { EXIT_STATUS } from '../../src/errors.js';
import { runCli } from '../cli/helpers.js';

const nested = (depth: number): string => `<DS_DRIVER_ACTION_DATA>${'<A>'.repeat(depth)}x${'</A>'.repeat(depth)}</DS_DRIVER_ACTION_DATA>`;

t.test('a dump nested past the limit is a bad dump, not an internal error', async (t) => {
  t.throws(() => readDump(nested(1000)), { code: 'E_BAD_DUMP', message: `dump nests elements more than ${MAX_DUMP_DEPTH} deep; action dumps nest about five` });
  t.equal(readDump(nested(MAX_DUMP_DEPTH - 2)).get('A/A'), '', 'deep but within the limit reads');
});

t.test('an oversized dump is refused by its size, before decoding or parsing', async (t) => {
  const big = `<DS_DRIVER_ACTION_DATA><X>${'y'.repeat(MAX_DUMP_BYTES)}</X></DS_DRIVER_ACTION_DATA>`;
  t.throws(() => readDump(big), { code: 'E_BAD_DUMP', message: /^dump is 8\.0 MiB of XML, over ferry's 8 MiB limit/ });
  const encoded = Buffer.from(big + 'z'.repeat(MAX_DUMP_BYTES / 2)).toString('base64');
  const before = process.memoryUsage().heapUsed;
  t.throws(() => dumpFromBase64(encoded), { code: 'E_BAD_DUMP', message: /^dump is 12\.0 MiB of base64-encoded XML, over ferry's 8 MiB limit/ });
  t.ok(process.memoryUsage().heapUsed - before < 64 * 1024 * 1024, 'refused without building a tree of it');
});

t.test('the CLI refuses them with exit status 2 and runs nothing', async (t) => {
  const run = await runCli(['ds', 'stat', '-', '1', '--driver', 'fs'], { stdin: nested(1000) });
  t.equal(run.status, EXIT_STATUS.E_BAD_DUMP);
  t.equal(run.status, 2);
  t.match(run.stderr, /nests elements more than 64 deep/);
  t.notMatch(run.stderr, /internal error/);
});
