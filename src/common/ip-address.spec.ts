import { parseClientAddress } from './ip-address';

const parsed = (text: string) => parseClientAddress(text)?.toString();

describe('parseClientAddress', () => {
  it('reads IPv4 and IPv6 addresses, one spelling each', () => {
    expect(parsed('203.0.113.7')).toBe('203.0.113.7');
    expect(parsed('2001:DB8:0::1')).toBe('2001:db8::1');
    expect(parsed('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(parsed('fe80::1%eth0')).toBe('fe80::1');
  });

  it('drops a port, as some proxies write it into X-Forwarded-For', () => {
    expect(parsed('203.0.113.7:40001')).toBe('203.0.113.7');
    expect(parsed('[2001:db8::1]:40001')).toBe('2001:db8::1');
    expect(parsed('[2001:db8::1]')).toBe('2001:db8::1');
    expect(parsed('[::ffff:10.0.0.1]:443')).toBe('10.0.0.1');
  });

  it('is undefined for anything else', () => {
    for (const text of [
      'unknown',
      '127.1',
      '0x7f.0.0.1',
      '203.0.113.7:',
      '203.0.113.7:x',
      '[x]:1',
    ]) {
      expect(parsed(text)).toBeUndefined();
    }
    expect(parsed('203.0.113.7:123456')).toBeUndefined();
  });
});
