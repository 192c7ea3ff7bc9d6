import t from 'tap';
import { setLongTimeout } from '../../../src/driver/launch/timer.js';

t.test('a timeout over 24.8 days does not fire at once', async (t) => {
  let warned = false;
  const onWarning = (warning: Error): void => {
    if (warning.name === 'TimeoutOverflowWarning') warned = true;
  };
  process.on('warning', onWarning);
  let fired = 0;
  const cancelLong = setLongTimeout(() => fired++, 1_000_000_000 * 1000);
  const cancelNever = setLongTimeout(() => fired++, Number.POSITIVE_INFINITY);
  await new Promise((resolve) => setTimeout(resolve, 50));
  cancelLong();
  cancelNever();
  process.off('warning', onWarning);
  t.equal(fired, 0, 'neither fired');
  t.equal(warned, false, 'no TimeoutOverflowWarning');
});

t.test('a short timeout fires once; a cancelled one never', async (t) => {
  let fired = 0;
  await new Promise<void>((resolve) => setLongTimeout(() => {
    fired++;
    resolve();
  }, 5));
  let cancelledFired = false;
  const cancel = setLongTimeout(() => {
    cancelledFired = true;
  }, 5);
  cancel();
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.equal(fired, 1);
  t.equal(cancelledFired, false);
});
