/** Image rows: images in their datastores, their state, SOURCE and snapshot ids. */
import { FerryError } from '../errors.js';
import type { Image, ImagePatch, ImageState, NewImage } from '../model.js';
import type { Connection } from './connection.js';
import { datastore } from './datastores.js';
import { checkName, guarded, json, nextId, now, num, str, type Row } from './values.js';

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
      const info = c
        .sql(
          `INSERT INTO images (id, name, datastore_id, path, size_mb, format, fs, type, persistent, cloned_from, state, created_at, updated_at)
           VALUES (${nextId('images')}, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'LOCKED', ?, ?)`,
        )
        .run(input.name, input.datastoreId, input.path ?? null, input.sizeMb ?? null, input.format ?? null, input.fs ?? null, input.type ?? 'OS', input.persistent ? 1 : 0, input.clonedFrom ?? null, at, at);
      return image(c, Number(info.lastInsertRowid));
    }),
  );
}

/** Refuses a name a new image cannot take: not a plain name, all digits (read as an id), or taken. */
export function checkNewImageName(c: Connection, name: string): void {
  checkName(name, 'image');
  if (c.sql('SELECT 1 FROM images WHERE name = ?').get(name)) {
    throw new FerryError('E_CONFLICT', `an image named ${JSON.stringify(name)} exists`, { hint: 'pick another --name' });
  }
}

export function listImages(c: Connection): Image[] {
  return (c.sql('SELECT * FROM images ORDER BY id').all() as Row[]).map(imageOf);
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
  c
    .sql('UPDATE images SET source = ?, size_mb = ?, format = ?, state = ?, error = ?, snapshots = ?, persistent = ?, updated_at = ? WHERE id = ?')
    .run(next.source, next.sizeMb, next.format, next.state, next.error, JSON.stringify(next.snapshots), next.persistent ? 1 : 0, next.updatedAt, id);
  return next;
}

/** Removes an image's record; disks of finished (DONE) VMs that came from it keep their rows with no image. */
export function deleteImageRecord(c: Connection, id: number): void {
  const found = image(c, id);
  guarded(`image ${found.name}`, () =>
    c.transaction(() => {
      c.sql("UPDATE vm_disks SET image_id = NULL WHERE image_id = ? AND vm_id IN (SELECT id FROM vms WHERE state = 'DONE')").run(id);
      c.sql('DELETE FROM images WHERE id = ?').run(id);
    }),
  );
}

/** VMs (not DONE) with a disk of this image. */
export function vmsUsingImage(c: Connection, imageId: number): number[] {
  return (c.sql("SELECT DISTINCT v.id FROM vm_disks d JOIN vms v ON v.id = d.vm_id WHERE d.image_id = ? AND v.state != 'DONE' ORDER BY v.id").all(imageId) as Row[]).map((row) => Number(row.id));
}
