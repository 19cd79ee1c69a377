import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AuditedRequest } from '../audit/audit-record';
import { AuditService } from '../audit/audit.service';
import { AuthDeniedException } from '../auth/auth-denied.exception';
import { denialResponse } from '../auth/denial-response';
import { AppConfig } from '../config/app-config';
import { isDatabaseUnavailableError } from '../database/database-errors';
import { ErrorBody, errorBody } from './error-body';

/** Short codes for statuses whose exceptions carry no code of their own. */
const STATUS_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'UnprocessableEntity',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

/**
 * The one exception filter (APP_FILTER). Denials get the contract's status and headers;
 * every other error the same OData-shaped body. Stack traces, SQL and driver messages go to
 * the log, never to the client.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<unknown>();
    const { httpAdapter } = this.adapterHost;
    // Denials (401/421/429 and the role check's 403) go to the audit trail's buffer, not to
    // the database: recording costs the failed request no write.
    this.audit.recordDenial(exception, host.switchToHttp().getRequest<AuditedRequest>());

    if (exception instanceof AuthDeniedException) {
      const denial = denialResponse(exception, this.config);
      for (const [name, value] of Object.entries(denial.headers)) {
        httpAdapter.setHeader(response, name, value);
      }
      httpAdapter.reply(response, denial.body, denial.status);
      return;
    }
    const { status, body } = this.describe(exception);
    httpAdapter.reply(response, body, status);
  }

  private describe(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status >= 500) this.logger.error(exception.message, causeStack(exception));
      return { status, body: fromHttpException(exception, status) };
    }
    const frameworkStatus = clientErrorStatus(exception);
    if (frameworkStatus !== undefined) {
      // Fastify's own rejections (unparsable JSON, wrong content type, body too large), and a
      // body that could not be read: the client went away mid-upload (Node's "aborted",
      // ECONNRESET, which was logged as the database being unavailable; found by review).
      const { code, message } = exception as { code?: unknown; message: string };
      return {
        status: frameworkStatus,
        body: errorBody(
          STATUS_CODES[frameworkStatus] ?? 'BadRequest',
          typeof code === 'string' && code.startsWith('FST_')
            ? message
            : 'The request body could not be read.',
        ),
      };
    }
    if (isDatabaseUnavailableError(exception)) {
      this.logger.error(`Database unavailable: ${String(exception)}`);
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        body: errorBody('DatabaseUnavailable', 'The database is unavailable; try again later.'),
      };
    }
    this.logger.error(
      exception instanceof Error ? exception.message : String(exception),
      exception instanceof Error ? exception.stack : undefined,
    );
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: errorBody('InternalServerError', 'An unexpected error occurred.'),
    };
  }
}

function fromHttpException(exception: HttpException, status: number): ErrorBody {
  const response = exception.getResponse();
  const fallbackCode = STATUS_CODES[status] ?? (status >= 500 ? 'ServerError' : 'ClientError');
  if (typeof response === 'object' && response !== null) {
    const r = response as Record<string, unknown>;
    const code = typeof r.code === 'string' ? r.code : fallbackCode;
    const message = Array.isArray(r.message)
      ? r.message.join('; ')
      : typeof r.message === 'string'
        ? r.message
        : exception.message;
    const body = errorBody(code, message);
    if (typeof r.target === 'string') body.error.target = r.target;
    if (Array.isArray(r.details)) body.error.details = r.details as ErrorBody['error']['details'];
    return body;
  }
  return errorBody(fallbackCode, typeof response === 'string' ? response : exception.message);
}

/**
 * A 4xx that Fastify raised before any handler ran: its own errors (an FST_ code) and the
 * errors of reading the body, on which it sets `statusCode` (400 unless they had one). The
 * database driver never sets `statusCode`.
 */
function clientErrorStatus(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { statusCode } = exception as { statusCode?: unknown };
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500
    ? statusCode
    : undefined;
}

function causeStack(exception: HttpException): string | undefined {
  const cause = exception.cause;
  return cause instanceof Error ? `${cause.message}\n${cause.stack}` : exception.stack;
}
