import type { HttpAdapterHost } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { rememberedSettings, rememberedSettingsFailure } from '../settings/request-settings';
import type { SettingsService, SettingsView } from '../settings/settings.service';
import { ODataHeadersHook } from './odata-headers.hook';

type Hook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => void;

const SETTINGS: SettingsView = { apiEnabled: true, maxTop: 120, updatedAt: new Date(0) };

/** The hook as Fastify would run it, with settings that are cached, read, or failing. */
function hookWith(settings: { fresh?: SettingsView; current: () => Promise<SettingsView> }) {
  let hook: Hook | undefined;
  const adapterHost = {
    httpAdapter: { getInstance: () => ({ addHook: (_name: string, fn: Hook) => (hook = fn) }) },
  } as unknown as HttpAdapterHost;
  let reads = 0;
  const service = {
    fresh: () => settings.fresh,
    current: () => {
      reads += 1;
      return settings.current();
    },
  } as unknown as SettingsService;
  new ODataHeadersHook(adapterHost, service).onModuleInit();

  return {
    reads: () => reads,
    run(
      url: string,
      requestHeaders: Record<string, string> = {},
      query: Record<string, string> = {},
    ) {
      const headers: Record<string, string> = {};
      const request = {
        routeOptions: { url },
        raw: {},
        headers: requestHeaders,
        query,
      } as unknown as FastifyRequest;
      const sent: { status?: number; body?: unknown } = {};
      const reply = {
        header(name: string, value: string) {
          headers[name] = value;
          return this;
        },
        code(status: number) {
          sent.status = status;
          return this;
        },
        send: (body: unknown) => (sent.body = body),
      } as unknown as FastifyReply;
      let doneCalls = 0;
      hook!(request, reply, () => (doneCalls += 1));
      return { headers, request, sent, doneCalls: () => doneCalls };
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('ODataHeadersHook', () => {
  it('finishes at once with every header when the settings are cached, reading nothing', () => {
    const hook = hookWith({ fresh: SETTINGS, current: () => Promise.reject(new Error('no read')) });
    const { headers, request, doneCalls } = hook.run('/odata/v1/Customers');
    expect(doneCalls()).toBe(1);
    expect(headers).toEqual({
      'OData-Version': '4.0',
      'Smartstore-Api-Version': '1',
      'Smartstore-Api-MaxTop': '120',
    });
    expect(rememberedSettings(request.raw)).toBe(SETTINGS);
    expect(hook.reads()).toBe(0);
  });

  it('answers 406 itself, without going on, for what the client cannot take', () => {
    const hook = hookWith({ fresh: SETTINGS, current: () => Promise.reject(new Error('no read')) });
    const { headers, sent, doneCalls } = hook.run('/odata/v1/:resource', {
      'odata-maxversion': '3.0',
    });
    expect(doneCalls()).toBe(0);
    expect(sent).toEqual({
      status: 406,
      body: { error: { code: 'NotAcceptable', message: expect.stringMatching(/OData 4\.0/) } },
    });
    expect(headers['OData-Version']).toBe('4.0');
  });

  it('answers 406 for a $format that is not what the route answers with, on every route', () => {
    const hook = hookWith({ fresh: SETTINGS, current: () => Promise.reject(new Error('no read')) });
    for (const [url, format] of [
      ['/odata/v1', 'xml'],
      ['/odata/v1/$metadata', 'application/json'],
      ['/odata/v1/:resource/$count', 'json'],
    ]) {
      const { sent, doneCalls } = hook.run(url, { accept: '*/*' }, { $format: format });
      expect(doneCalls()).toBe(0);
      expect(sent).toEqual({
        status: 406,
        body: { error: { code: 'NotAcceptable', message: expect.stringMatching(/^\$format: /) } },
      });
    }
    const { sent, doneCalls } = hook.run(
      '/odata/v1/:resource/$count',
      { accept: 'application/json' },
      { $format: 'text/plain' },
    );
    expect(doneCalls()).toBe(1);
    expect(sent).toEqual({});
  });

  it('reads the settings when none are cached, and finishes once it has them', async () => {
    const hook = hookWith({ current: () => Promise.resolve({ ...SETTINGS, maxTop: 50 }) });
    const { headers, request, doneCalls } = hook.run('/odata/v1');
    expect(doneCalls()).toBe(0);
    await flush();
    expect(doneCalls()).toBe(1);
    expect(headers['Smartstore-Api-MaxTop']).toBe('50');
    expect(rememberedSettings(request.raw)?.maxTop).toBe(50);
    expect(hook.reads()).toBe(1);
  });

  it('finishes without the page size while the database fails, leaving the 503 to the guard', async () => {
    const refused = new Error('connection refused');
    const hook = hookWith({ current: () => Promise.reject(refused) });
    const { headers, request, doneCalls } = hook.run('/odata/v1/Orders');
    await flush();
    expect(doneCalls()).toBe(1);
    expect(headers).toEqual({ 'OData-Version': '4.0', 'Smartstore-Api-Version': '1' });
    expect(rememberedSettings(request.raw)).toBeUndefined();
    // The guard answers with this failure rather than wait for a read of its own.
    expect(rememberedSettingsFailure(request.raw)).toEqual({ error: refused });
  });

  it('leaves routes outside /odata/ alone', () => {
    const hook = hookWith({ fresh: SETTINGS, current: () => Promise.resolve(SETTINGS) });
    for (const url of ['/admin/settings', '/health']) {
      const { headers, doneCalls } = hook.run(url);
      expect(doneCalls()).toBe(1);
      expect(headers).toEqual({});
    }
    expect(hook.reads()).toBe(0);
  });
});
