import t from 'tap';
import { silentLogger } from '../../src/log/logger.js';
import { LOG_LEVELS } from '../../src/log/record.js';

t.test('the log levels are the four stderr prefixes, each a logger method', async (t) => {
  t.same(LOG_LEVELS, ['error', 'warn', 'info', 'debug']);
  for (const level of LOG_LEVELS) t.type(silentLogger[level], 'function', level);
});
