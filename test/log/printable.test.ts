import t from 'tap';
import { hasControl, printable } from '../../src/log/printable.js';

t.test('control characters become visible escapes; text, tabs and newlines stay', async (t) => {
  t.equal(printable('plain name\twith tab\nand line'), 'plain name\twith tab\nand line');
  t.equal(printable('\u001b[2J\u001b]0;pwned\u0007'), '\\x1b[2J\\x1b]0;pwned\\x07', 'clear screen and window title are shown, not run');
  t.equal(printable('a\rb\u007fc\u009bd'), 'a\\x0db\\x7fc\\x9bd', 'CR, DEL and C1 too');
  t.equal(printable('ünïcode ✓'), 'ünïcode ✓', 'printable Unicode untouched');
  t.equal(hasControl('fine'), false);
  t.equal(hasControl('bad\u001b'), true);
  t.equal(hasControl('bad\u001b'), true, 'the answer does not depend on the last call');
});
