/**
 * How a timeout is written in ferry.yaml, driver.yaml and on the command
 * line: seconds (fractions allowed), or `none` for no timeout at all.
 * Any length is honoured (see driver/launch/timer.ts).
 */
import * as v from 'valibot';

/** The documented spelling of "no timeout". */
export const NO_TIMEOUT = 'none';

export const TimeoutSchema = v.union([
  v.pipe(v.number(), v.minValue(0.001)),
  v.pipe(v.literal(NO_TIMEOUT), v.transform(() => Number.POSITIVE_INFINITY)),
]);
