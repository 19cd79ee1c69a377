import { Injectable, NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rememberSettings } from '../settings/request-settings';
import { SettingsService } from '../settings/settings.service';

export const API_VERSION = '1';

/**
 * Runs before the guard on every /odata request, so that denials carry these headers too:
 * `OData-Version`, `Smartstore-Api-Version` and `Smartstore-Api-MaxTop` (the page size).
 */
@Injectable()
export class ODataHeadersMiddleware implements NestMiddleware {
  constructor(private readonly settings: SettingsService) {}

  async use(request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) {
    response.setHeader('OData-Version', '4.0');
    response.setHeader('Smartstore-Api-Version', API_VERSION);
    try {
      const settings = await this.settings.current();
      rememberSettings(request, settings);
      response.setHeader('Smartstore-Api-MaxTop', String(settings.maxTop));
      next();
    } catch (error) {
      next(error);
    }
  }
}
