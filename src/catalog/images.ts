/** Image rows: images in their datastores, their state, SOURCE and snapshot ids. */
import { FerryError } from '../errors.js';
import type { Image, ImagePatch, ImageState, NewImage } from '../model.js';
import type { Connection } from './connection.js';
import { arg, prepared } from './db/prepared.js';
import { datastore } from './datastores.js';
import { allocateId, checkName, guarded, json, now, num, str, type Row } from './values.js';

function imageOf(row: Row): Image {
  return {
    id: Number(row.id),
    name: String(row.name),
    datastoreId: Number(row.datastore_id),
    path: str(row.path),
    source: str(row.source),
    sizeMb: num(row.size_mb),
    format: str(row.format),
    fs: str(row.fs),
    type: String(row.type),
    persistent: Number(row.persistent) === 1,
    state: row.state as ImageState,
    error: str(row.error),
    snapshots: json(row.snapshots, []),
    clonedFrom: num(row.cloned_from),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

/** Records an image LOCKED (its driver action has yet to run). */
export function addImage(c: Connection, input: NewImage): Image {
  datastore(c, input.datastoreId);
  return guarded(`image ${input.name}`, () =>
    c.transaction(() => {
      checkNewImageName(c, input.name);
      const at = now();
      const id = allocateId(c, 'images');
      c.run(
        c.q.insertInto('images').values({
          id,
          name: input.name,
          datastore_id: input.datastoreId,
          path: input.path ?? null,
          size_mb: input.sizeMb ?? null,
          format: input.format ?? null,
          fs: input.fs ?? null,
          type: input.type ?? 'OS',
          persistent: input.persistent ? 1 : 0,
          cloned_from: input.clonedFrom ?? null,
          state: 'LOCKED',
          created_at: at,
          updated_at: at,
        }),
      );
      return image(c, id);
    }),
  );
}

/** Refuses a name a new image cannot take: not a plain name, all digits (read as an id), or taken. */
export function checkNewImageName(c: Connection, name: string): void {
  checkName(name, 'image');
  if (c.get(c.q.selectFrom('images').select('id').where('name', '=', name))) {
    throw new FerryError('E_CONFLICT', `an image named ${JSON.stringify(name)} exists`, { hint: 'pick another --name' });
  }
}

export function listImages(c: Connection): Image[] {
  return c.all(c.q.selectFrom('images').selectAll().orderBy('id')).map((row) => imageOf(row as unknown as Row));
}

export function findImage(c: Connection, ref: string | number): Image | undefined {
  const row = c.rowByRef('images', ref);
  return row ? imageOf(row) : undefined;
}

export function image(c: Connection, ref: string | number): Image {
  const found = findImage(c, ref);
  if (found) return found;
  throw new FerryError('E_NOT_FOUND', `no image ${JSON.stringify(String(ref))} in the catalog`, { hint: 'list them: ferry image list' });
}

export function updateImage(c: Connection, id: number, patch: ImagePatch): Image {
  const next = { ...image(c, id), ...patch, updatedAt: now() };
  writeImage.run(c.ex, next.source, next.sizeMb, next.format, next.state, next.error, JSON.stringify(next.snapshots), next.persistent ? 1 : 0, next.updatedAt, id);
  return next;
}

/** Run at each step of an image's operation: compiled once. */
const writeImage = prepared((db) =>
  db
    .updateTable('images')
    .set({ source: arg(0), size_mb: arg(1), format: arg(2), state: arg(3), error: arg(4), snapshots: arg(5), persistent: arg(6), updated_at: arg(7) })
    .where('id', '=', arg<number>(8)),
);

/** Removes an image's record; disks of finished (DONE) VMs that came from it keep their rows with no image. */
export function deleteImageRecord(c: Connection, id: number): void {
  const found = image(c, id);
  guarded(`image ${found.name}`, () =>
    c.transaction(() => {
      c.run(c.q.updateTable('vm_disks').set({ image_id: null }).where('image_id', '=', id).where('vm_id', 'in', (eb) => eb.selectFrom('vms').select('id').where('state', '=', 'DONE')));
      c.run(c.q.deleteFrom('images').where('id', '=', id));
    }),
  );
}

/** VMs (not DONE) with a disk of this image. */
export function vmsUsingImage(c: Connection, imageId: number): number[] {
  const rows = c.all(
    c.q.selectFrom('vm_disks as d').innerJoin('vms as v', 'v.id', 'd.vm_id').select('v.id').distinct().where('d.image_id', '=', imageId).where('v.state', '!=', 'DONE').orderBy('v.id'),
  );
  return rows.map((row) => Number(row.id));
}
