/** Bearer-key authentication and role checks. */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
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

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The hook that checks a route's `permission`; calls `done` at once when the key is cached (no promise, no tick). */
export function authHook(authenticator: Authenticator, permission: Permission): onRequestHookHandler {
  const allowed: readonly Role[] = PERMISSIONS[permission];
  const admit = (request: FastifyRequest, principal: Principal | undefined): AppError | undefined => {
    if (!principal) return new AppError('UNAUTHENTICATED', 'The API key is not valid.');
    if (!allowed.includes(principal.role)) {
      return new AppError('FORBIDDEN', `The role "${principal.role}" cannot do this; it needs one of: ${allowed.join(', ')}.`, {
        role: principal.role,
        allowed,
      });
    }
    request.principal = principal;
    return undefined;
  };
  return (request, _reply, done) => {
    const header = request.headers.authorization;
    const match = header ? BEARER.exec(header) : null;
    if (!match) return done(new AppError('UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <key>".'));
    const key = match[1]!;
    const cached = authenticator.cached(key);
    if (cached) return done(admit(request, cached));
    authenticator.authenticate(key).then(
      (principal) => done(admit(request, principal)),
      (err: Error) => done(err),
    );
  };
}

/** Adds the auth hook to every route declared with `config.permission` (routes without it are public). Call before adding routes. */
export function installAuth(app: FastifyInstance, authenticator: Authenticator): void {
  app.addHook('onRoute', (route) => {
    const permission = route.config?.permission;
    if (!permission) return;
    const hook = authHook(authenticator, permission);
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [hook, ...existing];
  });
}

/** The engine's view of the caller. Only call on authenticated routes. */
export function callContext(request: FastifyRequest): CallContext {
  const p = request.principal;
  if (!p) throw new AppError('UNAUTHENTICATED');
  return { orgId: p.orgId, actor: { type: 'api_key', id: p.keyId, name: p.keyName } };
}
