/** ferry's version, as its package.json says: for /api/v1/health and the ferry_build_info metric. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config/paths.js';

let cached: string | undefined;

export function ferryVersion(): string {
  cached ??= String((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  return cached;
}
