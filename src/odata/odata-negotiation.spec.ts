import { accepts, formatNames, notAcceptable, wantsIeee754Compatible } from './odata-negotiation';

describe('accepts', () => {
  it('matches a type by */*, type/* or itself, in any case, with parameters', () => {
    expect(accepts('*/*', 'application/json')).toBe(true);
    expect(accepts('text/html, application/*;q=0.8', 'application/json')).toBe(true);
    expect(accepts('Application/JSON;odata.metadata=minimal', 'application/json')).toBe(true);
    expect(accepts('application/xml', 'application/json')).toBe(false);
    expect(accepts('application/atom+xml', 'application/xml')).toBe(false);
  });

  it('does not match a range the client refuses with q=0', () => {
    expect(accepts('application/json;q=0, text/html', 'application/json')).toBe(false);
    expect(accepts('application/json; q=0.000', 'application/json')).toBe(false);
    expect(accepts('application/json; q=0.001', 'application/json')).toBe(true);
  });
});

describe('notAcceptable', () => {
  const entity = '/odata/v1/:resource';

  it('passes what clients send', () => {
    expect(notAcceptable(entity, {}, undefined)).toBeUndefined();
    expect(notAcceptable(entity, { accept: '*/*' }, undefined)).toBeUndefined();
    expect(notAcceptable(entity, { 'odata-maxversion': '4.01' }, undefined)).toBeUndefined();
    expect(notAcceptable('/odata/v1/$metadata', { accept: 'application/xml' }, undefined)).toBe(
      undefined,
    );
    expect(notAcceptable('/odata/v1/:resource/$count', { accept: 'text/plain' }, undefined)).toBe(
      undefined,
    );
  });

  it('refuses a format the route does not answer with, unless $format names one', () => {
    expect(notAcceptable(entity, { accept: 'application/xml' }, undefined)).toMatch(
      /application\/json only/,
    );
    expect(notAcceptable('/odata/v1/$metadata', { accept: 'application/json' }, undefined)).toMatch(
      /application\/xml only/,
    );
    expect(notAcceptable(entity, { accept: 'application/xml' }, 'json')).toBeUndefined();
  });

  it('checks $format, not Accept, against the type each route answers with', () => {
    // Each was checked against JSON (the $count and $value ones refused), or not at all (review).
    const count = '/odata/v1/:resource/$count';
    const value = '/odata/v1/:resource/:property/$value';
    const metadata = '/odata/v1/$metadata';
    expect(notAcceptable(count, {}, 'text/plain')).toBeUndefined();
    expect(notAcceptable(value, {}, 'text/plain;charset=utf-8')).toBeUndefined();
    expect(notAcceptable(metadata, {}, 'xml')).toBeUndefined();
    expect(notAcceptable('/odata/v1', {}, 'application/json')).toBeUndefined();
    expect(notAcceptable(count, {}, 'json')).toMatch(/\$format: .* text\/plain only/);
    expect(notAcceptable(metadata, {}, 'application/json')).toMatch(/application\/xml only/);
    expect(notAcceptable('/odata/v1', {}, 'xml')).toMatch(/application\/json only/);
    // $format overrides Accept either way: a wrong one is refused whatever Accept takes.
    expect(notAcceptable(metadata, { accept: 'application/xml' }, 'json')).toMatch(/\$format/);
    expect(notAcceptable(metadata, { accept: 'application/json' }, 'xml')).toBeUndefined();
    // Repeated, it is an array: no one format.
    expect(notAcceptable(entity, {}, ['json', 'json'])).toMatch(/\$format/);
  });

  it('refuses an OData-MaxVersion below 4.0', () => {
    expect(notAcceptable(entity, { 'odata-maxversion': '3.0' }, undefined)).toMatch(
      /OData-MaxVersion 3\.0/,
    );
    expect(notAcceptable(entity, { 'odata-maxversion': 'junk' }, undefined)).toBeUndefined();
  });
});

describe('formatNames', () => {
  it('takes the media type, with parameters, or its short name, in any case', () => {
    expect(formatNames('json', 'application/json')).toBe(true);
    expect(formatNames('JSON', 'application/json')).toBe(true);
    expect(formatNames('application/json;odata.metadata=minimal', 'application/json')).toBe(true);
    expect(formatNames('xml', 'application/xml')).toBe(true);
    expect(formatNames('Application/XML', 'application/xml')).toBe(true);
    expect(formatNames('text/plain', 'text/plain')).toBe(true);
    expect(formatNames('text/plain; charset=utf-8', 'text/plain')).toBe(true);
  });

  it('refuses other types, ranges, and a short name with parameters', () => {
    expect(formatNames('xml', 'application/json')).toBe(false);
    expect(formatNames('json', 'text/plain')).toBe(false);
    expect(formatNames('text', 'text/plain')).toBe(false);
    expect(formatNames('*/*', 'application/json')).toBe(false);
    expect(formatNames('application/*', 'application/json')).toBe(false);
    expect(formatNames('json;odata.metadata=minimal', 'application/json')).toBe(false);
    expect(formatNames('application/jsonx', 'application/json')).toBe(false);
    expect(formatNames('', 'application/json')).toBe(false);
  });
});

describe('wantsIeee754Compatible', () => {
  it('reads the parameter on a JSON range of $format or Accept', () => {
    expect(wantsIeee754Compatible(undefined, 'application/json;IEEE754Compatible=true')).toBe(true);
    expect(wantsIeee754Compatible('application/json; ieee754compatible = true', undefined)).toBe(
      true,
    );
    expect(
      wantsIeee754Compatible(
        undefined,
        'text/html, application/json;odata.metadata=minimal;IEEE754Compatible=true',
      ),
    ).toBe(true);
  });

  it('is false without it, on another type, set false, or refused with q=0', () => {
    expect(wantsIeee754Compatible(undefined, undefined)).toBe(false);
    expect(wantsIeee754Compatible('json', 'application/json')).toBe(false);
    expect(wantsIeee754Compatible(undefined, 'application/xml;IEEE754Compatible=true')).toBe(false);
    expect(wantsIeee754Compatible(undefined, 'application/json;IEEE754Compatible=false')).toBe(
      false,
    );
    expect(wantsIeee754Compatible(undefined, 'application/json;IEEE754Compatible=true;q=0')).toBe(
      false,
    );
  });
});
