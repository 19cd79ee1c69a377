import type { IncomingMessage } from 'node:http';
import { requestMemo } from '../common/request-memo';
import type { SettingsView } from './settings.service';

/**
 * Settings read once per request and kept on the raw request, so that the OData headers
 * hook, the guard and the OData handlers do not each query them.
 */
const settingsOf = requestMemo<SettingsView>('gatehouse.settings');

export function rememberSettings(request: IncomingMessage, settings: SettingsView): void {
  settingsOf.set(request, settings);
}

export function rememberedSettings(request: IncomingMessage): SettingsView | undefined {
  return settingsOf.get(request);
}
