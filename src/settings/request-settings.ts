import type { IncomingMessage } from 'node:http';
import type { SettingsView } from './settings.service';

/**
 * Settings read once per request and kept on the raw request, so that the OData headers
 * middleware, the guard and the OData handlers do not each query them.
 */
const SETTINGS = Symbol('gatehouse.settings');

type WithSettings = IncomingMessage & { [SETTINGS]?: SettingsView };

export function rememberSettings(request: IncomingMessage, settings: SettingsView): void {
  (request as WithSettings)[SETTINGS] = settings;
}

export function rememberedSettings(request: IncomingMessage): SettingsView | undefined {
  return (request as WithSettings)[SETTINGS];
}
