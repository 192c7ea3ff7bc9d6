import t from 'tap';
import { MASK, SecretMask } from '../../src/log/mask.js';

t.test('every known secret value is masked, the longest first', async (t) => {
  const mask = new SecretMask(['s3cret', 's3cret-long', '']);
  t.equal(mask.text('login with s3cret-long failed; s3cret was tried'), `login with ${MASK} failed; ${MASK} was tried`);
  t.equal(mask.text('nothing to hide'), 'nothing to hide');
  t.same(mask.deep({ message: 'pw=s3cret', logs: [{ level: 'error', message: 'got s3cret' }], exitCode: 1, at: null }), {
    message: `pw=${MASK}`,
    logs: [{ level: 'error', message: `got ${MASK}` }],
    exitCode: 1,
    at: null,
  });
});

t.test('no secrets: values pass through unchanged', async (t) => {
  const mask = new SecretMask([]);
  t.equal(mask.empty, true);
  const value = { a: 'b' };
  t.equal(mask.deep(value), value);
});
