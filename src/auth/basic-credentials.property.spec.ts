import fc from 'fast-check';
import { MAX_AUTHORIZATION_LENGTH, parseBasicAuthorization } from './basic-credentials';

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('parseBasicAuthorization (properties)', () => {
  it('never throws, whatever the header, and answers one of its three kinds', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant(undefined)),
        (header) => {
          const result = parseBasicAuthorization(header);
          expect(['absent', 'malformed', 'valid']).toContain(result.kind);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reads back every key pair it is given, splitting at the first colon', () => {
    const noControl = fc
      .string({ unit: 'grapheme', minLength: 1 })
      .filter((s) => !/\p{Cc}/u.test(s));
    fc.assert(
      fc.property(
        noControl.filter((s) => !s.includes(':')),
        noControl,
        (publicKey, secret) => {
          const header = `Basic ${encode(`${publicKey}:${secret}`)}`;
          fc.pre(header.length <= MAX_AUTHORIZATION_LENGTH);
          expect(parseBasicAuthorization(header)).toEqual({ kind: 'valid', publicKey, secret });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never yields a public key with a colon or an empty part', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const result = parseBasicAuthorization(`Basic ${encode(text)}`);
        if (result.kind === 'valid') {
          expect(result.publicKey).not.toContain(':');
          expect(result.publicKey.length).toBeGreaterThan(0);
          expect(result.secret.length).toBeGreaterThan(0);
          expect(`${result.publicKey}:${result.secret}`).toBe(text);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
