/** API keys and organizations (API.md "Administration"), and health. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.js';
import { createApiKey, createOrganization, listKeys, removeApiKey, type Authenticator } from '../../engine/access.js';
import type { Services } from '../../engine/services.js';
import type { ApiKey } from '../../store/api-keys.js';
import { callContext } from '../auth.js';
import { bodyOf, parseWith } from '../input.js';
import { page } from '../pagination.js';
import { ApiKeyBody, OrganizationBody, systemDocs as docs } from '../schemas/system.js';

function keyView(k: ApiKey) {
  return { id: k.id, name: k.name, role: k.role, keyPrefix: k.keyPrefix, createdAt: k.createdAt };
}

export interface AdminOptions {
  authenticator: Authenticator;
  /** Only admins of this organization may create organizations. */
  defaultOrgId: string;
  version: string;
}

export function adminRoutes(app: FastifyInstance, services: Services, options: AdminOptions): void {
  app.get('/api/v1/health', { schema: docs.health }, async () => {
    return { status: 'ok', database: services.database.dialect, version: options.version };
  });

  app.get('/api/v1/me', { config: { permission: 'read' }, schema: docs.me }, async (request) => {
    const p = request.principal!;
    return { orgId: p.orgId, keyId: p.keyId, name: p.keyName, role: p.role };
  });

  app.post('/api/v1/api-keys', { config: { permission: 'admin' }, schema: docs.createApiKey }, async (request, reply) => {
    const body = parseWith(ApiKeyBody, bodyOf(request));
    const { apiKey, key } = await createApiKey(services, callContext(request).orgId, body.name, body.role);
    return reply.status(201).send({ ...keyView(apiKey), key });
  });

  app.get('/api/v1/api-keys', { config: { permission: 'admin' }, schema: docs.listApiKeys }, async (request) => {
    return page((await listKeys(services, callContext(request).orgId)).map(keyView), null);
  });

  app.delete<{ Params: { id: string } }>('/api/v1/api-keys/:id', { config: { permission: 'admin' }, schema: docs.deleteApiKey }, async (request, reply) => {
    const principal = request.principal!;
    const hash = await removeApiKey(services, principal.orgId, request.params.id, principal.keyId);
    options.authenticator.forget(hash);
    return reply.status(204).send();
  });

  // The counters of this server process's workers (not per organization): default organization admins only.
  app.get('/api/v1/workers', { config: { permission: 'admin' }, schema: docs.workers }, async (request) => {
    if (request.principal!.orgId !== options.defaultOrgId) {
      throw new AppError('FORBIDDEN', "Only admins of the default organization can read the workers' counters.");
    }
    return services.workerCounters.total();
  });

  app.post('/api/v1/organizations', { config: { permission: 'admin' }, schema: docs.createOrganization }, async (request, reply) => {
    if (request.principal!.orgId !== options.defaultOrgId) {
      throw new AppError('FORBIDDEN', 'Only admins of the default organization can create organizations.');
    }
    const body = parseWith(OrganizationBody, bodyOf(request));
    const { organization, apiKey, key } = await createOrganization(services, body.name);
    return reply.status(201).send({ ...organization, apiKey: { ...keyView(apiKey), key } });
  });
}
