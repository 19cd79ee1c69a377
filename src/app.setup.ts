import { NestApplicationOptions } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { answerClientError, answerFrameworkError } from './common/framework-errors';
import { AppConfig } from './config/app-config';
import { useBodyParsers } from './request-body/body-parsers';

/**
 * How the app and the e2e tests both build the HTTP layer, so that tests run what ships.
 * Nest's own body parsers are off: Fastify's JSON parser (with its prototype-poisoning
 * protection) is the only one, and bodies of any other type get 415, once authenticated
 * (see UnparsedBody).
 */
export const APP_OPTIONS: NestApplicationOptions = { bodyParser: false, abortOnError: false };

export function createHttpAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    // Fastify accepts a hop count too; the adapter's option type omits it.
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: 1024 * 1024,
    // What Fastify and Node refuse before Nest sees the request, in the API's error shape.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // While closing, a request on an open keep-alive connection is served (its response says
    // `Connection: close`) rather than answered by Fastify's own 503 body, which is not the
    // API's error shape (found by review); closing waits for it.
    return503OnClosing: false,
    // `/odata/v1/` is the service root OData clients derive from the context URL.
    routerOptions: { ignoreTrailingSlash: true },
    ...(config.tls ? { https: config.tls } : {}),
  });
}

export function configureApp(app: NestFastifyApplication): void {
  useBodyParsers(app.getHttpAdapter().getInstance());
}
