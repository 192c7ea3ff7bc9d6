/** ferry.yaml's `datastores:` in the catalog: what every catalog command (and the service, at each reload) syncs first. */
import type { CatalogStore } from '../catalog/store.js';
import { resolveSecrets, type FerryConfig } from '../config/config.js';

/** Datastores declared in ferry.yaml are created, or updated, in the catalog: all of them in one transaction. */
export function syncConfigDatastores(catalog: CatalogStore, declared: Record<string, ConfigDatastore> | undefined, env: Readonly<Record<string, string | undefined>>): void {
  const entries = Object.entries(declared ?? {});
  if (entries.length === 0) return;
  catalog.transaction((tx) => {
    for (const [name, ds] of entries) {
      const existing = tx.findDatastore(name);
      const fields = {
        dsMad: ds.ds_mad ?? null,
        tmMad: ds.tm_mad,
        basePath: ds.base_path,
        template: ds.template ?? {},
        secrets: resolveSecrets(name, ds.secrets, env),
      };
      if (!existing) tx.addDatastore({ name, type: ds.type ?? 'IMAGE', ...fields, origin: 'config', ...(ds.id !== undefined ? { id: ds.id } : {}) });
      else if (existing.origin === 'config') tx.updateDatastore(existing.id, fields);
    }
  });
}

type ConfigDatastore = NonNullable<FerryConfig['datastores']>[string];
