import t from 'tap';
import { logRecordOf, splitStderr } from '../../src/driver/stderr.js';

t.test('logRecordOf: the four prefixes map to levels', async (t) => {
  t.same(logRecordOf('ERROR: it broke'), { level: 'error', message: 'it broke' });
  t.same(logRecordOf('WARN: careful'), { level: 'warn', message: 'careful' });
  t.same(logRecordOf('INFO: starting'), { level: 'info', message: 'starting' });
  t.same(logRecordOf('DEBUG: details'), { level: 'debug', message: 'details' });
});

t.test('logRecordOf: space after the colon is optional, trailing space trimmed', async (t) => {
  t.same(logRecordOf('INFO:no space'), { level: 'info', message: 'no space' });
  t.same(logRecordOf('WARN: trailing   '), { level: 'warn', message: 'trailing' });
  t.same(logRecordOf('INFO:'), { level: 'info', message: '' });
  // Only one space is eaten; further leading spaces are part of the message.
  t.same(logRecordOf('INFO:   indented'), { level: 'info', message: '  indented' });
});

t.test('logRecordOf: anything else is not a log record', async (t) => {
  for (const line of [
    'disk /ds is full',
    'info: lowercase prefix',
    'Info: mixed case',
    ' INFO: leading space',
    'INFORMATION: not a prefix',
    'TRACE: unknown level',
    'ERROR MESSAGE --8<------',
    '',
    'the INFO: is not at the start',
  ]) {
    t.equal(logRecordOf(line), undefined, JSON.stringify(line));
  }
});

t.test('splitStderr: empty stderr', async (t) => {
  t.same(splitStderr(''), { logs: [], message: '' });
  t.same(splitStderr('\n\n  \n'), { logs: [], message: '' });
});

t.test('splitStderr: logs and message lines are separated, order preserved', async (t) => {
  const stderr = [
    'INFO: starting cp',
    'WARN: low space',
    'disk /ds is full',
    'DEBUG: tried twice',
    'ERROR: giving up',
    'second line of the reason',
    '',
  ].join('\n');
  const { logs, message } = splitStderr(stderr);
  t.same(logs, [
    { level: 'info', message: 'starting cp' },
    { level: 'warn', message: 'low space' },
    { level: 'debug', message: 'tried twice' },
    { level: 'error', message: 'giving up' },
  ]);
  t.equal(message, 'disk /ds is full\nsecond line of the reason');
});

t.test('splitStderr: CRLF line ends are stripped', async (t) => {
  const { logs, message } = splitStderr('INFO: one\r\nreason a\r\nWARN: two\r\nreason b\r\n');
  t.same(logs, [
    { level: 'info', message: 'one' },
    { level: 'warn', message: 'two' },
  ]);
  t.equal(message, 'reason a\nreason b');
  t.notMatch(message, /\r/);
});

t.test('splitStderr: blank lines are dropped from the message', async (t) => {
  const { message } = splitStderr('\n\nfirst\n\n   \nsecond\n\n');
  t.equal(message, 'first\nsecond');
});

t.test('splitStderr: no trailing newline still yields the last line', async (t) => {
  const { logs, message } = splitStderr('INFO: a\nreason');
  t.same(logs, [{ level: 'info', message: 'a' }]);
  t.equal(message, 'reason');
});

t.test('splitStderr: an error_message block wins over the plain lines', async (t) => {
  const stderr = 'INFO: about to fail\nsome noise\nERROR MESSAGE --8<------\nImage /x not found\nERROR MESSAGE ------>8--\nmore noise\n';
  const { logs, message } = splitStderr(stderr);
  t.equal(message, 'Image /x not found');
  t.same(logs, [{ level: 'info', message: 'about to fail' }]);
});

t.test('splitStderr: lines inside a block are message lines, even with a log prefix', async (t) => {
  const stderr = 'ERROR MESSAGE --8<------\nline one\nINFO: inside the block\nline three\nERROR MESSAGE ------>8--\nINFO: outside\n';
  const { logs, message } = splitStderr(stderr);
  t.equal(message, 'line one\nINFO: inside the block\nline three');
  t.same(logs, [{ level: 'info', message: 'outside' }]);
});

t.test('splitStderr: several blocks are joined in order', async (t) => {
  const stderr = 'ERROR MESSAGE --8<------\nfirst\nERROR MESSAGE ------>8--\nnoise\nERROR MESSAGE --8<------\nsecond\nERROR MESSAGE ------>8--\n';
  t.equal(splitStderr(stderr).message, 'first\nsecond');
});

t.test('splitStderr: block separators with CRLF and trailing spaces', async (t) => {
  const stderr = 'noise\r\nERROR MESSAGE --8<------  \r\nthe reason\r\nERROR MESSAGE ------>8--\r\n';
  t.equal(splitStderr(stderr).message, 'the reason');
});

t.test('splitStderr: an unterminated block takes the rest of stderr', async (t) => {
  const stderr = 'noise\nERROR MESSAGE --8<------\nreason one\nreason two\n';
  const { message, logs } = splitStderr(stderr);
  t.equal(message, 'reason one\nreason two');
  t.same(logs, []);
});

t.test('splitStderr: an empty block gives an empty message', async (t) => {
  const stderr = 'plain line\nERROR MESSAGE --8<------\nERROR MESSAGE ------>8--\n';
  t.equal(splitStderr(stderr).message, '');
});

t.test('splitStderr: message is trimmed but inner indentation kept', async (t) => {
  const stderr = '  Traceback:\n    at line 3\n';
  t.equal(splitStderr(stderr).message, 'Traceback:\n    at line 3');
});
