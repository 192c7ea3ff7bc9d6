/**
 * A catalog for the service's tests, filled with one of everything the metrics and the API show: datastores with
 * secrets (recognisable values the tests look for in every output), monitor figures and history, a monitor in
 * ERROR, hosts, images and VMs in several states, alerts firing and cleared, journal entries of each outcome.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { tmpDir } from './fixtures.js';

/** Secret values: none may appear in /metrics or in any API body. */
export const SECRETS = { API_KEY: 'S3CR3T-api-key-7f1c', PASSWORD: 'S3CR3T-password-2b9e' };
export const SECRET_MARK = 'S3CR3T-';

export interface ServiceWorld {
  catalog: Catalog;
  dir: string;
  /** Datastore ids: images (monitored, 1000 MB total, 600 used, 400 free), system (monitor in ERROR), spare (never monitored). */
  ids: { images: number; system: number; spare: number };
  now: number;
}

const HOUR = 3_600_000;

export function serviceWorld(t: Test): ServiceWorld {
  const dir = tmpDir(t, 'ferry-service-');
  const catalog = Catalog.open(join(dir, 'catalog.db'));
  t.teardown(() => catalog.close());
  const now = Date.now();

  const images = catalog.addDatastore({ name: 'images', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: join(dir, 'ds', 'images'), template: { LIMIT_MB: '900' }, secrets: { API_KEY: SECRETS.API_KEY } });
  const system = catalog.addDatastore({ name: 'system', type: 'SYSTEM', tmMad: 'ssh', basePath: join(dir, 'ds', 'system'), secrets: { PASSWORD: SECRETS.PASSWORD } });
  const spare = catalog.addDatastore({ name: 'spare', type: 'FILE', dsMad: 'fs', tmMad: 'shared', basePath: join(dir, 'ds', 'spare') });

  catalog.setMonitor(images.id, { totalMb: 1000, usedMb: 600, freeMb: 400 });
  catalog.setMonitor(system.id, { totalMb: 2048, usedMb: 48, freeMb: 2000 });
  const samples = [];
  for (let h = 30; h >= 0; h--) {
    const at = now - h * HOUR;
    samples.push({ datastoreId: images.id, attribute: 'used_mb', at, value: 600 - h * 5 }, { datastoreId: images.id, attribute: 'total_mb', at, value: 1000 });
  }
  catalog.recordSamples(samples);
  catalog.recordMonitorSuccess(images.id, now);
  for (let i = 0; i < 3; i++) catalog.recordMonitorFailure(system.id, 'ssh: connect to host node2 port 22: Connection refused', { at: now - (3 - i) * 60_000 });

  catalog.addHost({ name: 'node1', transport: 'local' });
  catalog.addHost({ name: 'node2', transport: 'ssh', address: '192.0.2.7', port: 2222, user: 'oneadmin', identity: '/etc/ferry/id_ed25519' });

  const ready = catalog.addImage({ name: 'debian', datastoreId: images.id, sizeMb: 300, format: 'qcow2' });
  catalog.updateImage(ready.id, { state: 'READY', source: join(dir, 'ds', 'images', 'debian') });
  const broken = catalog.addImage({ name: 'broken', datastoreId: images.id, sizeMb: 10 });
  catalog.updateImage(broken.id, { state: 'ERROR', error: 'cp failed' });
  catalog.addImage({ name: 'uploading', datastoreId: images.id });

  const disks = [{ diskId: 0, kind: 'image' as const, imageId: ready.id, mode: 'clone' as const, sizeMb: 300, format: 'qcow2', files: null }];
  const web = catalog.addVm({ name: 'web', host: 'node1', systemDsId: system.id, disks }, join(dir, 'ds', 'system'));
  catalog.updateVm(web.id, { state: 'RUNNING' });
  const db = catalog.addVm({ name: 'db', host: 'node2', systemDsId: system.id, disks: [] }, join(dir, 'ds', 'system'));
  catalog.updateVm(db.id, { state: 'FAILED', error: 'tm/ssh clone failed' });

  catalog.raiseAlert({ rule: 'free_below_20', subject: { kind: 'datastore', id: images.id }, severity: 'warning', message: 'images: 40 % free', value: 40, affects: [{ kind: 'image', id: ready.id }], at: now - 2 * HOUR });
  catalog.raiseAlert({ rule: 'monitor_failing', subject: { kind: 'datastore', id: system.id }, severity: 'critical', message: 'system: monitor failed 3 times', at: now - HOUR });
  catalog.raiseAlert({ rule: 'vm_failed', subject: { kind: 'vm', id: db.id }, severity: 'major', message: 'db FAILED', at: now - HOUR });
  catalog.raiseAlert({ rule: 'free_below_10', subject: { kind: 'datastore', id: images.id }, severity: 'critical', message: 'images: 9 % free', at: now - 3 * HOUR });
  catalog.clearAlert('free_below_10', { kind: 'datastore', id: images.id }, now - 2 * HOUR);

  return { catalog, dir, ids: { images: images.id, system: system.id, spare: spare.id }, now };
}

/** A journal entry of a driver action, as the lifecycle records one. */
export function action(subject: string, kind: string, driver: string, name: string, durationMs: number | null, outcome: 'ok' | 'failed' | 'timeout' = 'ok') {
  return {
    subject,
    operation: name,
    step: null,
    kind,
    driver,
    action: name,
    args: [],
    ok: outcome === 'ok',
    exitCode: outcome === 'ok' ? 0 : outcome === 'failed' ? 1 : null,
    durationMs,
    message: outcome === 'ok' ? null : outcome === 'failed' ? 'df: no such file' : `${kind} ${driver}/${name} timed out after 30 s`,
    logs: [],
  };
}
