/** GET /api/v1/admin/storage: database and WAL sizes, the WAL bound's figures, retention settings and the last prune. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.js';
import type { Pruner } from '../../engine/retention.js';
import type { Services } from '../../engine/services.js';
import { storageFigures } from '../../store/retention.js';
import { systemDocs as docs } from '../schemas/system.js';

export interface StorageRouteOptions {
  /** The installation's pruner (absent: retention does not run in this process). */
  pruner?: Pruner;
  /** Only admins of this organization see installation-wide figures. */
  defaultOrgId: string;
}

export function storageRoutes(app: FastifyInstance, services: Services, options: StorageRouteOptions): void {
  app.get('/api/v1/admin/storage', { config: { permission: 'admin' }, schema: docs.storage }, async (request) => {
    if (request.principal!.orgId !== options.defaultOrgId) {
      throw new AppError('FORBIDDEN', 'Only admins of the default organization can see the storage of the installation.');
    }
    const { database } = services;
    const checkpointer = database.checkpointer;
    const pruner = options.pruner;
    return {
      ...(await storageFigures(database)),
      wal: checkpointer ? { limitBytes: checkpointer.walLimitBytes, ...checkpointer.stats } : null,
      retention: pruner ? { ...pruner.settings, running: pruner.enabled } : null,
      lastPrune: pruner?.last ?? null,
    };
  });
}
