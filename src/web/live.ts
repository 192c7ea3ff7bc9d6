/**
 * Server-sent events for the dashboard (stub, filled in by the live-updates work): `GET /events/…` streams what
 * changes, so a page shows a step in flight without reloading. Returns false when the path is not a stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiCatalog } from '../service/api.js';

export interface LiveOptions {
  catalog: ApiCatalog;
  /** Ends every stream (the service is stopping). */
  signal: AbortSignal;
}

export function handleLive(_options: LiveOptions, _url: URL, _req: IncomingMessage, _res: ServerResponse): boolean {
  return false;
}
