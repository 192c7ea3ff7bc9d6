/**
 * What a cp or mkfs made when ferry refuses its reply. The driver exited 0,
 * so it most likely made the image, but the reply cannot be used (garbage
 * around the source, a source alone with no size to go with it), and the
 * image goes to ERROR with no SOURCE: nothing would ever remove the file,
 * not `image delete` (no SOURCE, no rm), not `image recover --failure`, not
 * `datastore check --fix` (only the temporary naming is removed). So the
 * reply is searched for the SOURCE the driver named, and when one is found
 * it is recorded on the image first (a ferry killed now leaves it for
 * `image delete` / `image recover --failure`), then removed with the
 * driver's own rm, and forgotten once rm succeeded.
 */
import { existsSync } from 'node:fs';
import { dirname, normalize } from 'node:path';
import { FerryError, toFerryError, type RunFacts } from '../errors.js';
import type { Datastore, Image, PlanStep } from '../model.js';
import { datastoreAction, type LifecycleOptions } from './journal.js';
import { imageStep } from './image-plan.js';

const FACTS = ['kind', 'driver', 'action', 'id', 'command', 'exitCode', 'signal', 'stdout', 'stderr', 'logs', 'timedOut', 'durationMs', 'stdoutTruncated', 'stderrTruncated'] as const;

/** The run's facts of `failure`, to carry over to the error that replaces it. */
function factsOf(failure: FerryError): RunFacts {
  return Object.fromEntries(FACTS.filter((key) => failure[key] !== undefined).map((key) => [key, failure[key]])) as RunFacts;
}

/**
 * The SOURCE a refused reply names: a word of it that is a file or folder
 * directly in the datastore's BASE_PATH (as the file drivers' sources are),
 * that exists now and that no image record owns. Only such a path is ever
 * removed: never one outside BASE_PATH, never another image's.
 */
export function madeSource(ds: Datastore, stdout: string, owned: (source: string) => boolean): string | undefined {
  const base = ds.basePath.replace(/(.)\/+$/, '$1');
  for (const word of stdout.split(/\s+/)) {
    const path = word.replace(/^["']|["',;:.]+$/g, '');
    if (!path.startsWith('/') || normalize(path) !== path || dirname(path) !== base) continue;
    if (existsSync(path) && !owned(path)) return path;
  }
  return undefined;
}

/**
 * Undoes what the action of `step` made for `image` when ferry refused its
 * reply (E_MALFORMED_OUTPUT): the error to throw instead, saying what
 * became of it. Any other failure is returned as it is.
 */
export async function undoMade(life: LifecycleOptions, ds: Datastore, step: PlanStep, image: Image, failure: FerryError): Promise<FerryError> {
  if (failure.code !== 'E_MALFORMED_OUTPUT' || failure.stdout === undefined) return failure;
  const source = madeSource(ds, failure.stdout, (path) => life.catalog.listImages().some((other) => other.source === path));
  if (source === undefined) return failure;
  const recorded = life.catalog.updateImage(image.id, { source });
  const rm = imageStep(ds, 'rm', image.id, `${source}, made by a refused ${step.action}`, { source });
  try {
    await datastoreAction(life, ds, rm, { image: recorded, operation: `${step.action}-undo` });
  } catch (error) {
    const why = toFerryError(error).message;
    return new FerryError(failure.code, `${failure.message}; it made ${source}, kept as the image's SOURCE because removing it failed (rm: ${why})`, {
      ...factsOf(failure),
      hint: `ferry image delete ${image.id} removes it (or ferry image recover ${image.id} --failure)`,
    });
  }
  life.catalog.updateImage(image.id, { source: null });
  return new FerryError(failure.code, `${failure.message}; what it made (${source}) is removed`, { ...factsOf(failure), ...(failure.hint !== undefined ? { hint: failure.hint } : {}) });
}
