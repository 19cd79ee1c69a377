import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../common/error-body';
import { rememberSettings, rememberSettingsFailure } from '../settings/request-settings';
import { SettingsService, SettingsView } from '../settings/settings.service';
import { notAcceptable } from './odata-negotiation';

export const API_VERSION = '1';
const ODATA_ROUTES = '/odata/';

/**
 * Puts `OData-Version`, `Smartstore-Api-Version` and `Smartstore-Api-MaxTop` (the page size) on
 * every answer of an OData route, denials included, so it runs before the guard: as a Fastify
 * `onRequest` hook rather than a Nest middleware, since Nest runs middleware on Fastify through
 * @fastify/middie, which cost the OData routes about 15 % of their time (see the README's
 * Performance section). Only matched routes: an unknown /odata path is a plain 404.
 */
@Injectable()
export class ODataHeadersHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly settings: SettingsService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => this.setHeaders(request, reply, done));
  }

  /**
   * Callback-style, finished synchronously while the settings are cached (nearly every
   * request): an async hook costs every request a promise and a microtask turn, as the async
   * guards did (README, Performance). A read, when one is needed, finishes it later.
   */
  private setHeaders(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    if (!request.routeOptions.url?.startsWith(ODATA_ROUTES)) return done();
    reply.header('OData-Version', '4.0');
    reply.header('Smartstore-Api-Version', API_VERSION);
    const refusal = notAcceptable(
      request.routeOptions.url,
      request.headers,
      (request.query as Record<string, unknown> | undefined)?.$format,
    );
    if (refusal !== undefined) {
      // Answered here, before authentication (a hook's error would bypass the exception
      // filter), in the same error shape; the refusal tells nothing of the API's data.
      void reply
        .code(406)
        .header('Content-Type', 'application/json; charset=utf-8')
        .send(errorBody('NotAcceptable', refusal));
      return;
    }
    const cached = this.settings.fresh();
    if (cached) {
      applySettings(request, reply, cached);
      return done();
    }
    void this.readSettings(request, reply).then(() => done());
  }

  private async readSettings(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      applySettings(request, reply, await this.settings.current());
    } catch (error) {
      // The database is down: the guard answers the 503 (a hook's error would bypass the
      // exception filter), with this error rather than after a read of its own.
      rememberSettingsFailure(request.raw, error);
    }
  }
}

function applySettings(request: FastifyRequest, reply: FastifyReply, settings: SettingsView): void {
  rememberSettings(request.raw, settings);
  reply.header('Smartstore-Api-MaxTop', String(settings.maxTop));
}
