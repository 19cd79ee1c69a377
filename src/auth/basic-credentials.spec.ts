import { MAX_AUTHORIZATION_LENGTH, parseBasicAuthorization } from './basic-credentials';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const basic = (credentials: string): string => `Basic ${b64(credentials)}`;

describe('parseBasicAuthorization', () => {
  describe('valid credentials', () => {
    it('returns the public key and secret of a well-formed Basic header', () => {
      expect(parseBasicAuthorization(basic('0123456789abcdef:s3cret-value'))).toEqual({
        kind: 'valid',
        publicKey: '0123456789abcdef',
        secret: 's3cret-value',
      });
    });

    it.each(['basic', 'BASIC', 'bAsIc'])('accepts the scheme name in any case (%s)', (scheme) => {
      expect(parseBasicAuthorization(`${scheme} ${b64('key:secret')}`)).toEqual({
        kind: 'valid',
        publicKey: 'key',
        secret: 'secret',
      });
    });

    it('accepts tabs and several spaces between scheme and token, and surrounding whitespace', () => {
      expect(parseBasicAuthorization(`Basic\t ${b64('key:secret')}  `)).toEqual({
        kind: 'valid',
        publicKey: 'key',
        secret: 'secret',
      });
    });

    it('splits at the first colon, keeping colons in the secret', () => {
      expect(parseBasicAuthorization(basic('key:a:b:c'))).toEqual({
        kind: 'valid',
        publicKey: 'key',
        secret: 'a:b:c',
      });
    });

    it('accepts the standard base64 alphabet including + and /', () => {
      expect(parseBasicAuthorization('Basic a2V5Oj8/Pj9+')).toEqual({
        kind: 'valid',
        publicKey: 'key',
        secret: '??>?~',
      });
    });

    it('accepts a secret that is a single colon', () => {
      expect(parseBasicAuthorization(basic('key::'))).toEqual({
        kind: 'valid',
        publicKey: 'key',
        secret: ':',
      });
    });

    it('decodes the credentials as UTF-8 and preserves non-ASCII secrets', () => {
      const secret = 'pässwörd-€-密码-1234';
      expect(parseBasicAuthorization(basic(`key:${secret}`))).toEqual({
        kind: 'valid',
        publicKey: 'key',
        secret,
      });
    });

    it('preserves supplementary-plane characters (4-byte UTF-8) in the secret', () => {
      const secret = 'emoji-🔑-secret';
      expect(parseBasicAuthorization(basic(`key:${secret}`))).toEqual({
        kind: 'valid',
        publicKey: 'key',
        secret,
      });
    });

    it('accepts base64 tokens with one and with two padding characters', () => {
      // 'ab:cde' is 6 bytes (no padding), 'ab:cd' 5 (one '='), 'ab:c' 4 (two '=').
      expect(b64('ab:cd')).toMatch(/[^=]=$/);
      expect(b64('ab:c')).toMatch(/==$/);
      expect(parseBasicAuthorization(basic('ab:cd'))).toMatchObject({
        kind: 'valid',
        secret: 'cd',
      });
      expect(parseBasicAuthorization(basic('ab:c'))).toMatchObject({ kind: 'valid', secret: 'c' });
      expect(parseBasicAuthorization(basic('ab:cde'))).toMatchObject({
        kind: 'valid',
        secret: 'cde',
      });
    });

    it('accepts a header of exactly MAX_AUTHORIZATION_LENGTH characters', () => {
      const token = b64(`key:${'s'.repeat(3000)}`);
      const padding = MAX_AUTHORIZATION_LENGTH - 'Basic'.length - token.length;
      const header = `Basic${' '.repeat(padding)}${token}`;
      expect(header).toHaveLength(MAX_AUTHORIZATION_LENGTH);
      expect(parseBasicAuthorization(header)).toEqual({
        kind: 'valid',
        publicKey: 'key',
        secret: 's'.repeat(3000),
      });
    });
  });

  describe('absent credentials', () => {
    it('treats a missing header as absent', () => {
      expect(parseBasicAuthorization(undefined)).toEqual({ kind: 'absent' });
    });

    it('treats an empty header as absent', () => {
      expect(parseBasicAuthorization('')).toEqual({ kind: 'absent' });
    });

    it.each([
      'Bearer x',
      'Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc',
      'Digest username="key", realm="Smartstore.WebApi", nonce="abc", uri="/", response="x"',
      'Negotiate YIIB',
      'Bearer',
    ])('treats another scheme as absent Basic credentials (%s)', (header) => {
      expect(parseBasicAuthorization(header)).toEqual({ kind: 'absent' });
    });

    it.each([
      `XBasicY ${b64('key:secret')}`,
      `XBasic ${b64('key:secret')}`,
      `BasicY ${b64('key:secret')}`,
      `Basic-Auth ${b64('key:secret')}`,
    ])('does not accept a scheme that merely contains "Basic" (%s)', (header) => {
      expect(parseBasicAuthorization(header).kind).not.toBe('valid');
    });

    it('does not accept a scheme glued to the token ("Basic" without whitespace)', () => {
      expect(parseBasicAuthorization(`Basic${b64('key:secret')}`).kind).not.toBe('valid');
    });
  });

  describe('malformed credentials', () => {
    const malformed = { kind: 'malformed' };

    it('rejects the scheme alone', () => {
      expect(parseBasicAuthorization('Basic')).toEqual(malformed);
      expect(parseBasicAuthorization('Basic ')).toEqual(malformed);
      expect(parseBasicAuthorization('Basic \t ')).toEqual(malformed);
    });

    it.each([
      ['characters outside the base64 alphabet', 'Basic !!!!'],
      // 'key:??>?~' is a2V5Oj8/Pj9+ in base64 and a2V5Oj8_Pj9- in base64url.
      ['base64url characters', 'Basic a2V5Oj8_Pj9-'],
      [
        'a token with an embedded space',
        `Basic ${b64('key:secret').slice(0, 4)} ${b64('key:secret').slice(4)}`,
      ],
      ['plain text instead of base64', 'Basic key:secret'],
    ])('rejects a non-base64 token (%s)', (_label, header) => {
      expect(parseBasicAuthorization(header)).toEqual(malformed);
    });

    it.each([
      ['missing padding', b64('ab:c').replace(/=+$/, '')],
      ['half the padding', b64('ab:c').replace(/=$/, '')],
      ['excess padding', `${b64('ab:cde')}==`],
      ['padding in the middle', `${b64('ab:c')}${b64('ab:c')}`],
      ['a length that is not a multiple of four', `${b64('ab:cde')}A`],
      ['three padding characters', 'YTpiY==='],
    ])('rejects non-canonical base64 (%s)', (_label, token) => {
      expect(parseBasicAuthorization(`Basic ${token}`)).toEqual(malformed);
    });

    it('rejects base64 whose unused padding bits are not zero (non-canonical encoding)', () => {
      // 'YTpiYw==' is the canonical encoding of 'a:bc'; 'YTpiYx==' decodes to the same bytes
      // only because decoders drop the low bits of the last character.
      expect(parseBasicAuthorization('Basic YTpiYw==')).toMatchObject({ kind: 'valid' });
      expect(Buffer.from('YTpiYx==', 'base64').toString()).toBe('a:bc');
      expect(parseBasicAuthorization('Basic YTpiYx==')).toEqual(malformed);
      expect(parseBasicAuthorization('Basic YTpiYzE=')).toMatchObject({ kind: 'valid' });
      expect(parseBasicAuthorization('Basic YTpiYzF=')).toEqual(malformed);
    });

    it('rejects bytes that are not valid UTF-8', () => {
      const invalid = [
        Buffer.from([0x6b, 0x65, 0x79, 0x3a, 0xff, 0xfe, 0x61]), // key:\xff\xfea
        Buffer.from([0x6b, 0x65, 0x79, 0x3a, 0xc3]), // truncated 2-byte sequence
        Buffer.from([0x6b, 0x65, 0x79, 0x3a, 0xc0, 0xaf]), // overlong '/'
        Buffer.from([0x6b, 0x65, 0x79, 0x3a, 0xed, 0xa0, 0x80]), // UTF-16 surrogate
      ];
      for (const bytes of invalid) {
        expect(parseBasicAuthorization(`Basic ${bytes.toString('base64')}`)).toEqual(malformed);
      }
    });

    it('rejects credentials without a colon', () => {
      expect(parseBasicAuthorization(basic('keysecret'))).toEqual(malformed);
    });

    it('rejects an empty public key', () => {
      expect(parseBasicAuthorization(basic(':secret'))).toEqual(malformed);
    });

    it('rejects an empty secret', () => {
      expect(parseBasicAuthorization(basic('key:'))).toEqual(malformed);
    });

    it('rejects a lone colon', () => {
      expect(parseBasicAuthorization(basic(':'))).toEqual(malformed);
    });

    it.each([
      ['NUL in the secret', 'key:sec\u0000ret'],
      ['newline in the secret', 'key:sec\nret'],
      ['carriage return in the secret', 'key:secret\r'],
      ['tab in the secret', 'key:sec\tret'],
      ['escape in the public key', 'k\u001bey:secret'],
      ['DEL in the secret', 'key:secret\u007f'],
      ['C1 control in the secret', 'key:secret\u0085'],
    ])('rejects control characters (%s)', (_label, credentials) => {
      expect(parseBasicAuthorization(basic(credentials))).toEqual(malformed);
    });

    it('rejects a header longer than MAX_AUTHORIZATION_LENGTH', () => {
      const token = b64(`key:${'s'.repeat(3000)}`);
      const padding = MAX_AUTHORIZATION_LENGTH + 1 - 'Basic'.length - token.length;
      const header = `Basic${' '.repeat(padding)}${token}`;
      expect(header).toHaveLength(MAX_AUTHORIZATION_LENGTH + 1);
      expect(parseBasicAuthorization(header)).toEqual(malformed);
    });

    it('rejects a very long header whatever its scheme', () => {
      expect(parseBasicAuthorization(`Bearer ${'x'.repeat(MAX_AUTHORIZATION_LENGTH)}`)).toEqual(
        malformed,
      );
      expect(parseBasicAuthorization(basic(`key:${'s'.repeat(10_000)}`))).toEqual(malformed);
    });

    // Node never makes one of Authorization (it keeps the first of several, see
    // test/framework-errors.e2e-spec.ts); a direct caller can.
    it('rejects an array header rather than pick one of its values', () => {
      expect(parseBasicAuthorization([basic('key:secret')])).toEqual(malformed);
      expect(parseBasicAuthorization([basic('key:secret'), basic('other:secret')])).toEqual(
        malformed,
      );
      expect(parseBasicAuthorization([])).toEqual(malformed);
    });
  });
});
