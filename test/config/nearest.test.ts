/** The one nearest-name matcher behind every "did you mean". */
import t from 'tap';
import { DS_ACTIONS } from '../../src/contract/table.js';
import { editDistance, nearest } from '../../src/config/nearest.js';

t.test('nearest and editDistance', async (t) => {
  t.equal(editDistance('snap_delete', 'snap_delete'), 0);
  t.equal(editDistance('cp', 'pc'), 1, 'a swap of neighbours is one edit');
  t.equal(editDistance('', 'abc'), 3);
  const ds = [...DS_ACTIONS];
  t.equal(nearest('snapshot_delete', ds), 'snap_delete');
  t.equal(nearest('Clone', ds), 'clone');
  t.equal(nearest('snap-revert', ds), 'snap_revert');
  t.equal(nearest('monitr', ds), 'monitor');
  t.equal(nearest('backup', ds), undefined);
  t.equal(nearest('xy', ds), undefined, 'two letters are too short to guess from');
});

t.test('nearest: one rule for action names, driver.yaml keys, timeouts and capabilities', async (t) => {
  t.equal(nearest('timeout', ['api', 'kind', 'description', 'timeouts']), 'timeouts');
  t.equal(nearest('descripton', ['api', 'kind', 'description']), 'description');
  t.equal(nearest('secrit', ['type', 'default', 'required', 'secret', 'description']), 'secret');
  t.equal(nearest('live-snapshots', ['snapshots', 'live_snapshots']), 'live_snapshots', 'a hyphen is an underscore');
  t.equal(nearest('teleport', ['snapshots', 'live_snapshots', 'sparse']), undefined);
  t.equal(nearest('foo', ['api', 'kind', 'description', 'dump']), undefined);
  t.equal(nearest('monitor', ['monitor', 'rm']), 'monitor', 'an exact name is its own nearest');
  t.equal(nearest('cp', ['cp', 'mv']), 'cp', 'two letters: only the same letters');
  t.equal(nearest('mv', ['cp']), undefined);
  t.equal(nearest('anything', []), undefined, 'no candidates: no guess');
  // The threshold: 40% of the longer name, rounded down, at least 1.
  t.equal(nearest('abcdefghij', ['abcdevwxyz']), undefined, '5 of 10 edits: too many');
  t.equal(nearest('abcdefghij', ['abcdefwxyz']), 'abcdefwxyz', '4 of 10: close');
  t.equal(nearest('abc', ['xbc']), 'xbc', 'at least one edit is allowed');
  t.equal(nearest('abc', ['xyc']), undefined);
  t.equal(nearest('snap', ['snap_a', 'snap_b']), 'snap_a', 'a tie goes to the first listed');
});
