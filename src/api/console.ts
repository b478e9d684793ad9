/**
 * The web console (console/, built by `npm run build` into console/dist) served at `/`.
 * Hashed files under /assets/ are cached for a year (their name changes with their content);
 * index.html and the other files are revalidated on every load, so a new build shows at once.
 * Unknown GET paths outside /api/ and /assets/ answer index.html: the console's router owns them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { AppError } from '../domain/errors.js';

export interface ConsoleOptions {
  /** The built console (a directory with index.html). Nothing is served when it has no index.html. */
  root: string;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

export async function consolePlugin(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  if (!existsSync(join(options.root, 'index.html'))) {
    app.log.warn({ root: options.root }, 'the console is not built (run "npm run build"); serving the API only');
    return;
  }
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/',
    wildcard: false,
    index: false,
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('cache-control', path.includes('/assets/') ? IMMUTABLE : 'no-cache');
    },
  });
  const sendIndex = (_req: unknown, reply: { header(k: string, v: string): unknown; sendFile(f: string): unknown }) => {
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  };
  app.get('/', { schema: { hide: true } }, sendIndex as never);
  app.get('/*', { schema: { hide: true } }, (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (path.startsWith('/api/') || path.startsWith('/assets/')) throw new AppError('NOT_FOUND', `No route ${request.method} ${path}.`);
    return sendIndex(request, reply);
  });
}
