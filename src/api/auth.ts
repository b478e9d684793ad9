/** Bearer-key authentication and role checks. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Authenticator, Principal } from '../engine/access.js';
import type { CallContext } from '../engine/services.js';
import type { Role } from '../store/api-keys.js';

/** What each kind of action needs. */
export const PERMISSIONS = {
  read: ['admin', 'editor', 'operator', 'viewer'],
  definitions: ['admin', 'editor'],
  entities: ['admin', 'editor', 'operator'],
  admin: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Routes without it are public (health, OpenAPI). */
    permission?: Permission;
  }
}

export function authHook(authenticator: Authenticator) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const permission = request.routeOptions.config.permission;
    if (!permission) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new AppError('UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <key>".');
    const principal = await authenticator.authenticate(match[1]!);
    if (!principal) throw new AppError('UNAUTHENTICATED', 'The API key is not valid.');
    const allowed: readonly Role[] = PERMISSIONS[permission];
    if (!allowed.includes(principal.role)) {
      throw new AppError('FORBIDDEN', `The role "${principal.role}" cannot do this; it needs one of: ${allowed.join(', ')}.`, {
        role: principal.role,
        allowed,
      });
    }
    request.principal = principal;
  };
}

/** The engine's view of the caller. Only call on authenticated routes. */
export function callContext(request: FastifyRequest): CallContext {
  const p = request.principal;
  if (!p) throw new AppError('UNAUTHENTICATED');
  return { orgId: p.orgId, actor: { type: 'api_key', id: p.keyId, name: p.keyName } };
}
