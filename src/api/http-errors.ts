/** Turns anything thrown in a request into the API's error body; never a 500 for a client's mistake. */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { AppError, ERRORS, type ErrorCode } from '../domain/errors.js';
import { isConnectionLoss, trackWrites, type WorkRecord } from '../store/pg-pool.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** Framework errors that are the client's doing, by Fastify code. */
const FRAMEWORK: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'NOT_FOUND',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

export function toErrorBody(err: AppError): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.details !== undefined) body.error.details = err.details;
  return body;
}

/** Seconds a client is asked to wait before trying again after DATABASE_UNAVAILABLE. */
const DATABASE_RETRY_AFTER_S = 1;

/** Classifies a thrown value: an AppError for the client, or undefined for a real server fault. */
export function clientError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  // A lost database connection is not the client's mistake, but it is not a 500 either: the request
  // can be made again once the pool has a new connection (pg-pool.ts).
  if (isConnectionLoss(err)) return new AppError('DATABASE_UNAVAILABLE');
  const e = err as Partial<FastifyError> & { type?: string };
  const mapped = e.code ? FRAMEWORK[e.code] : undefined;
  if (mapped === 'NOT_FOUND') return new AppError(mapped, 'No such resource: a path parameter is longer than any id or key.');
  if (mapped) return new AppError(mapped, mapped === 'INVALID_JSON' ? `The request body is not valid JSON: ${e.message}` : undefined);
  if (err instanceof SyntaxError && typeof e.statusCode === 'number' && e.statusCode < 500) {
    return new AppError('INVALID_JSON', `The request body is not valid JSON: ${err.message}`);
  }
  // Node's HTTP parser and other 4xx from the framework: keep their status, give them a stable code.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new AppError('PAYLOAD_TOO_LARGE');
    if (e.statusCode === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE');
    return new AppError('BAD_REQUEST', e.message);
  }
  return undefined;
}

/**
 * `retryLostConnections` (Postgres): requests whose database connection was lost before they could
 * write are handled again. Off on SQLite, which has no connection to lose — and the write tracking it
 * needs (AsyncLocalStorage) costs every promise something on Node 20.
 */
export function installErrorHandling(app: FastifyInstance, options: { retryLostConnections?: boolean } = {}): void {
  if (options.retryLostConnections) installDatabaseRetry(app);
  app.setErrorHandler((err, request, reply) => {
    const appError = clientError(err);
    if (appError) {
      if (appError.status === 401) void reply.header('www-authenticate', 'Bearer realm="statusflow"');
      if (appError.code === 'DATABASE_UNAVAILABLE') {
        request.log.warn({ code: appError.code, err: (err as Error).message }, 'database connection lost during the request: answered 503');
        void reply.header('retry-after', String(DATABASE_RETRY_AFTER_S));
      }
      void reply.status(appError.status).send(toErrorBody(appError));
      return;
    }
    request.log.error({ err }, 'request failed');
    const internal = new AppError('INTERNAL_ERROR', ERRORS.INTERNAL_ERROR.message);
    void reply.status(500).send(toErrorBody(internal));
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new AppError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`);
    void reply.status(404).send(toErrorBody(err));
  });
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request (a request line
 * and headers over 16 KB, malformed HTTP) gets the API's error body too, written on the socket, which is then
 * closed (Node's own behaviour). Fastify's default writes a body of its own shape.
 */
export function writeClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const appError = err.code === 'HPE_HEADER_OVERFLOW' ? new AppError('HEADERS_TOO_LARGE') : new AppError('BAD_REQUEST', 'The request is not valid HTTP.');
    const body = JSON.stringify(toErrorBody(appError));
    const reason = appError.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.write(`HTTP/1.1 ${appError.status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/**
 * Times a request is handled in all when the database connection is lost before it could write; the
 * waits between them (50 ms doubling: 1.55 s in all) ride out a burst of lost connections — a restart or
 * failover drops every connection of the pool, and the new ones may be dropped again while it settles.
 */
const DATABASE_ATTEMPTS = 6;

/**
 * A request whose database connection was lost is handled again on a fresh connection — only while it
 * cannot have written anything (no COMMIT and no write outside a transaction was sent; pg-pool.ts
 * watches), so a save is never made twice. Otherwise the client gets 503 DATABASE_UNAVAILABLE.
 * Must be installed before the routes (it wraps each route's handler as the route is added).
 */
function installDatabaseRetry(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown;
    route.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const attempt = (n: number): unknown => {
        const record: WorkRecord = { mayHaveWritten: false };
        const result = trackWrites(record, () => handler.call(this, request, reply));
        // A handler that answers synchronously (or by callback) is left as it is.
        if (!(result instanceof Promise)) return result;
        return result.catch(async (err: unknown) => {
          if (!isConnectionLoss(err)) throw err;
          if (n >= DATABASE_ATTEMPTS || record.mayHaveWritten || reply.sent) {
            request.log.warn({ attempts: n, mayHaveWritten: record.mayHaveWritten }, 'database connection lost; not handling the request again');
            throw err;
          }
          request.log.warn({ attempt: n, err: (err as Error).message }, 'database connection lost before anything was written; handling the request again');
          await new Promise((r) => setTimeout(r, 50 * 2 ** (n - 1)));
          return attempt(n + 1);
        });
      };
      return attempt(1);
    } as RouteHandlerMethod;
  });
}
