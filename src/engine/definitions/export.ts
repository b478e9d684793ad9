/** `GET /export`: the organization's definitions as one document, the shape `POST /apply` takes. Secret values never leave. */
import type { EntityTypeDefinition } from '../../domain/entity-type.js';
import { listConnections } from '../../store/connections.js';
import { listEntityTypes } from '../../store/entity-types.js';
import { listProcesses } from '../../store/processes.js';
import type { CallContext, Services } from '../services.js';
import { exportConnection, exportEntityType, exportProcess, type DefinitionsDocument } from './document.js';

/** Every entity type, connection and process of the organization, each list ordered by key. */
export async function exportDefinitions(services: Services, ctx: CallContext): Promise<DefinitionsDocument> {
  const { db } = services.database;
  const types = await listEntityTypes(db, ctx.orgId);
  const connections = await listConnections(db, ctx.orgId);
  const processes = await listProcesses(db, ctx.orgId);
  return {
    entityTypes: types.map((t) => exportEntityType(t.key, JSON.parse(t.definition) as EntityTypeDefinition)),
    connections: connections.map(exportConnection),
    processes: processes.map((p) => exportProcess(p.key, p.definition)),
  };
}
