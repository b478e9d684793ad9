/** Turns anything thrown in a request into the API's error body; never a 500 for a client's mistake. */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, ERRORS, type ErrorCode } from '../domain/errors.js';

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

/** Classifies a thrown value: an AppError for the client, or undefined for a real server fault. */
export function clientError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
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

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const appError = clientError(err);
    if (appError) {
      if (appError.status === 401) void reply.header('www-authenticate', 'Bearer realm="statusflow"');
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
