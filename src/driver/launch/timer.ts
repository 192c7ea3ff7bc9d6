/**
 * Timeouts of any length. Node's setTimeout fires at once for a delay over
 * 2^31-1 ms (about 24.8 days, with a TimeoutOverflowWarning), so a long
 * timeout is a chain of shorter ones; Infinity never fires.
 */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Calls `fn` after `ms` (any length; Infinity never). Returns the cancel function. */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  if (ms === Number.POSITIVE_INFINITY) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const due = Date.now() + ms;
  const arm = (left: number): void => {
    timer = setTimeout(() => {
      const remaining = due - Date.now();
      if (remaining > 0) arm(remaining);
      else fn();
    }, Math.min(Math.max(left, 0), MAX_DELAY_MS));
  };
  arm(ms);
  return () => clearTimeout(timer);
}
