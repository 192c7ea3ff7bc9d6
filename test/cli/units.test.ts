import t from 'tap';
import { parseSizeMb } from '../../src/cli/units.js';

t.test('sizes with units become whole MB, rounded up', async (t) => {
  t.equal(parseSizeMb('100', '--size'), 100, 'a bare number is MB');
  t.equal(parseSizeMb('512M', '--size'), 512);
  t.equal(parseSizeMb('1G', '--size'), 1024);
  t.equal(parseSizeMb('1g', '--size'), 1024, 'any case');
  t.equal(parseSizeMb('1GiB', '--size'), 1024);
  t.equal(parseSizeMb('1.5G', '--size'), 1536);
  t.equal(parseSizeMb('2T', '--size'), 2 * 1024 * 1024);
  t.equal(parseSizeMb('1500K', '--size'), 2, 'never smaller than asked');
  t.equal(parseSizeMb(' 8 G ', '--size'), 8192);
});

t.test('anything else is refused, naming the flag and the fix', async (t) => {
  for (const bad of ['', '0', '-1', '1Q', 'G', '1.5.2G', 'lots', '1e9', '99999999999999999999T']) {
    t.throws(() => parseSizeMb(bad, '--size'), { code: 'E_USAGE', message: `--size ${JSON.stringify(bad)} is not a size`, hint: /--size 512M, --size 1G/ }, `refuses ${JSON.stringify(bad)}`);
  }
});
