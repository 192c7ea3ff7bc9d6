import t from 'tap';
import { inside } from '../../src/fs/inside.js';

t.test('inside: strictly below the root', async (t) => {
  t.ok(inside('/srv/remotes', '/srv/remotes/tm/fs'));
  t.ok(inside('/srv/remotes', '/srv/remotes/x'));
  t.ok(inside('/srv/remotes', '/srv/remotes/..hidden'), 'a name starting with .. is still a child');
  t.ok(inside('/', '/etc'), 'under the file-system root');
  t.notOk(inside('/srv/remotes', '/srv/remotes'), 'the root itself is not inside it');
  t.notOk(inside('/srv/remotes', '/srv/remotes/'), 'nor with a trailing slash');
  t.notOk(inside('/srv/remotes', '/srv/remotes-old/x'), 'a sibling sharing the prefix');
  t.notOk(inside('/srv/remotes', '/srv'), 'the parent');
  t.notOk(inside('/srv/remotes', '/etc/passwd'));
});

t.test('inside: paths are normalized, links are not followed', async (t) => {
  t.notOk(inside('/srv/remotes', '/srv/remotes/tm/../../etc'), '.. segments that leave');
  t.ok(inside('/srv/remotes/', '/srv/remotes/tm/./fs'), 'trailing slash and . segments');
  t.ok(inside('/srv/remotes', '/srv/remotes/tm/../fs'), '.. that stays inside');
});
