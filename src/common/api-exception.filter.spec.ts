import { ArgumentsHost, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { ApiExceptionFilter } from './api-exception.filter';

/** The filter with a stand-in adapter: what it answered, and what it logged as errors. */
function filterAnswering(exception: unknown) {
  const answers: { status: number; body: unknown }[] = [];
  const httpAdapter = {
    reply: (_response: unknown, body: unknown, status: number) => answers.push({ status, body }),
    setHeader: () => undefined,
  };
  const filter = new ApiExceptionFilter(
    { httpAdapter } as unknown as HttpAdapterHost,
    {} as AppConfig,
    { recordDenial: () => undefined } as unknown as AuditService,
  );
  const logged: string[] = [];
  (filter as unknown as { logger: Partial<Logger> }).logger = {
    error: (message: string) => logged.push(message),
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => ({}), getRequest: () => ({}) }),
  } as unknown as ArgumentsHost;
  filter.catch(exception, host);
  return { answer: answers[0], logged };
}

describe('ApiExceptionFilter', () => {
  it('answers a body the client stopped sending as a 400, not as the database being away', () => {
    // What Fastify passes on when the client goes away mid-upload: Node's "aborted" error
    // (ECONNRESET, as a lost database connection has too), with the statusCode Fastify sets.
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    const { answer, logged } = filterAnswering(aborted);
    expect(answer).toEqual({
      status: 400,
      body: { error: { code: 'BadRequest', message: 'The request body could not be read.' } },
    });
    expect(logged).toEqual([]);
  });

  it('still answers a lost database connection with 503 and logs it', () => {
    const lost = Object.assign(new Error('Connection terminated'), { code: 'ECONNRESET' });
    const { answer, logged } = filterAnswering(lost);
    expect(answer.status).toBe(503);
    expect(logged).toEqual([expect.stringMatching(/^Database unavailable/)]);
  });

  it("passes Fastify's own client errors on with their message", () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    expect(filterAnswering(tooLarge).answer).toEqual({
      status: 413,
      body: { error: { code: 'PayloadTooLarge', message: 'Request body is too large' } },
    });
  });
});
