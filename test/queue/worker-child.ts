/** A queue worker in a process of its own, for the test that kills it: says `running <poolId> <jobId>` when its job starts, then holds it. */
import { parsePostgresUrl } from '../../src/catalog/location.js';
import { silentLogger } from '../../src/log/logger.js';
import { queuePool } from '../../src/queue/install.js';
import { OPERATION_TASK } from '../../src/queue/enqueue.js';
import { startWorker } from '../../src/queue/worker.js';

const [url] = process.argv.slice(2);
if (!url) throw new Error('usage: worker-child.ts URL');
const pool = queuePool(parsePostgresUrl(url, '--catalog'), process.env.PGPASSWORD, 4);
let poolId = '';
const worker = await startWorker({
  pool,
  logger: silentLogger,
  reclaimIntervalMs: 0,
  tasks: {
    [OPERATION_TASK]: async (_payload, helpers) => {
      process.stdout.write(`running ${poolId} ${helpers.job.id}\n`);
      await new Promise(() => {}); // held until the process is killed
    },
  },
});
poolId = worker.poolId;
process.stdout.write(`ready ${poolId}\n`);
