/**
 * Which launcher starts scripts in this process: ferry-spawn when it is
 * built and runs here, else Node's spawn (always with FERRY_SPAWN=node).
 * One helper per process, started on the first script.
 */
import { FerryError } from '../../errors.js';
import { helperPath, SpawnHelper } from './helper-launch.js';
import { launchWithNode } from './node-launch.js';
import type { Launcher } from './types.js';

let helper: SpawnHelper | undefined;
let helperLaunch: Launcher | undefined;

/** FERRY_SPAWN, checked: 'node' forces Node's spawn; unset or 'helper' is the default. */
function spawnSetting(): 'node' | 'helper' {
  const value = process.env.FERRY_SPAWN;
  if (value === undefined || value === '' || value === 'helper') return 'helper';
  if (value === 'node') return 'node';
  throw new FerryError('E_USAGE', `FERRY_SPAWN=${JSON.stringify(value)} is not a way to start scripts`, {
    hint: 'FERRY_SPAWN=node starts them with Node\'s spawn; unset it (or FERRY_SPAWN=helper) for ferry-spawn',
  });
}

/** How scripts start: through ferry-spawn when it is built, else Node's spawn (and always with FERRY_SPAWN=node). */
export function launcher(): Launcher {
  if (spawnSetting() === 'node') return launchWithNode;
  if (helperLaunch === undefined) {
    const path = helperPath();
    if (path === undefined) return launchWithNode;
    const started = new SpawnHelper(path, launchWithNode);
    helper = started;
    helperLaunch = (request) => started.launch(request);
  }
  return helperLaunch;
}

/** Which way scripts start in this process: 'helper', or 'node' with the reason. */
export function spawnMode(): { mode: 'helper' | 'node'; reason?: string } {
  if (spawnSetting() === 'node') return { mode: 'node', reason: 'FERRY_SPAWN=node' };
  if (helper?.unusable !== undefined) return { mode: 'node', reason: `ferry-spawn could not start: ${helper.unusable}` };
  if (helper === undefined && helperPath() === undefined) return { mode: 'node', reason: 'ferry-spawn is not built (npm run build compiles it)' };
  return { mode: 'helper' };
}
