/**
 * Nearest-name matching, for "did you mean": a misspelt action file name,
 * driver.yaml key, timeout name or capability. One rule for all of them.
 */

/** Case and punctuation do not count: Clone is clone, snap-revert is snap_revert. */
function normal(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The candidate `word` most likely stands for, or undefined when none is
 * close. The rule, on names compared without case or punctuation: the
 * nearest candidate is close when it is at most 40% of the longer name's
 * letters (rounded down, at least 1) of edits away (snapshot_delete ->
 * snap_delete, 4 of 14; monitr -> monitor, 1 of 7), except that a name of
 * two letters or fewer must match exactly (nothing is guessed from `xy`).
 * Ties go to the candidate listed first.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const wanted = normal(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  let bestLength = 0;
  for (const candidate of candidates) {
    const other = normal(candidate);
    const distance = editDistance(wanted, other);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
      bestLength = other.length;
    }
  }
  if (best === undefined) return undefined;
  if (wanted.length <= 2) return bestDistance === 0 ? best : undefined;
  const allowed = Math.max(1, Math.floor(Math.max(wanted.length, bestLength) * 0.4));
  return bestDistance <= allowed ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  // Three rows suffice: a swap looks two rows back.
  let before: number[] = [];
  let previous: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (before[j - 2] as number) + 1);
      row.push(value);
    }
    before = previous;
    previous = row;
  }
  return previous[b.length] as number;
}
