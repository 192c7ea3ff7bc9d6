import t from 'tap';
import * as v from 'valibot';
import { isName, NAME_BODY, NAME_PATTERN, NameSchema } from '../../src/contract/names.js';

const GOOD = ['fs', 'ssh', 'clone.ssh', 'qcow2', '_x', '9', 'host-01.example.org', 'a..b'];
const BAD = ['', '.', '..', '.hidden', '-x', 'a/b', '../fs', 'a b', 'a\nb', 'naïve', 'x;rm', '$HOME'];

t.test('the name rule: plain file names, never . or .., never leaving a folder', async (t) => {
  for (const name of GOOD) t.ok(isName(name), `${JSON.stringify(name)} is a name`);
  for (const name of BAD) t.notOk(isName(name), `${JSON.stringify(name)} is not`);
});

t.test('the schema and the pattern say the same as isName', async (t) => {
  for (const name of [...GOOD, ...BAD]) {
    t.equal(v.safeParse(NameSchema, name).success, isName(name), JSON.stringify(name));
    t.equal(NAME_PATTERN.test(name), isName(name), JSON.stringify(name));
  }
  t.notOk(v.safeParse(NameSchema, 7).success, 'a number is not a name');
});

t.test('the unanchored body finds names inside text', async (t) => {
  const found = [...'. ../shared/lib/tm_lib.sh; ../.x/lib/ ../qcow2/lib/a'.matchAll(new RegExp(`\\.\\./(${NAME_BODY})/lib/`, 'g'))].map((m) => m[1]);
  t.same(found, ['shared', 'qcow2']);
});
