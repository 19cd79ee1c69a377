import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { errorBody } from './error-body';

/**
 * Answers for what Fastify and Node refuse before a route, and so before Nest's exception
 * filter, is reached, in the error shape every other answer uses (CONTRACT.md 4); Fastify's
 * own were `{"statusCode","code","error","message"}` (found by review).
 */

const ODATA_PATH = /^\/odata\//;

/** Fastify's `frameworkErrors`: a URL its router cannot read. */
export function answerFrameworkError(
  error: { code?: string },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const [status, body] =
    error.code === 'FST_ERR_BAD_URL'
      ? [400, errorBody('BadRequest', 'The URL is not validly percent-encoded UTF-8.')]
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? [414, errorBody('URITooLong', 'A segment of the URL path is too long.')]
        : [500, errorBody('InternalServerError', 'An unexpected error occurred.')];
  // An OData client reads the version of any answer under the service root.
  if (ODATA_PATH.test(request.raw.url ?? '')) void reply.header('OData-Version', '4.0');
  void reply.code(status).header('Content-Type', 'application/json; charset=utf-8').send(body);
}

const CLIENT_ERRORS: Record<string, [number, string, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'RequestHeaderFieldsTooLarge',
    'The request headers are larger than 16 KB altogether.',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'Request Timeout',
    'RequestTimeout',
    'The request took too long to arrive.',
  ],
};

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refuses (headers too large, not
 * HTTP). There is no request to answer yet, so the answer is written to the socket, which is
 * then closed, as Node and Fastify do.
 */
export function answerClientError(error: { code?: string }, socket: Socket): void {
  // The client went away: there is nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
    400,
    'Bad Request',
    'BadRequest',
    'The request is not valid HTTP.',
  ];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
