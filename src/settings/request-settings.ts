import type { IncomingMessage } from 'node:http';
import { requestMemo } from '../common/request-memo';
import type { SettingsView } from './settings.service';

/**
 * Settings read once per request and kept on the raw request, so that the OData headers
 * hook, the guard and the OData handlers do not each query them.
 */
const settingsOf = requestMemo<SettingsView>('gatehouse.settings');

/**
 * The error of the settings read the OData headers hook made for a request, when it failed:
 * the guard answers it (503) instead of reading again, which against a database that hangs
 * made the request wait for a second timeout (measured: 30 s instead of 15 s).
 */
const settingsFailureOf = requestMemo<{ error: unknown }>('gatehouse.settingsFailure');

export function rememberSettings(request: IncomingMessage, settings: SettingsView): void {
  settingsOf.set(request, settings);
}

export function rememberedSettings(request: IncomingMessage): SettingsView | undefined {
  return settingsOf.get(request);
}

export function rememberSettingsFailure(request: IncomingMessage, error: unknown): void {
  settingsFailureOf.set(request, { error });
}

export function rememberedSettingsFailure(
  request: IncomingMessage,
): { error: unknown } | undefined {
  return settingsFailureOf.get(request);
}
