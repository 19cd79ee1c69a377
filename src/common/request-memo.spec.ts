import { requestMemo } from './request-memo';

describe('requestMemo', () => {
  it('remembers a value per request object', () => {
    const memo = requestMemo<string>('test');
    const first = {};
    const second = {};
    memo.set(first, 'one');
    expect(memo.get(first)).toBe('one');
    expect(memo.get(second)).toBeUndefined();
  });

  it('keeps memos apart, even with the same description', () => {
    const a = requestMemo<string>('same');
    const b = requestMemo<string | null>('same');
    const request = {};
    a.set(request, 'a');
    b.set(request, null);
    expect(a.get(request)).toBe('a');
    expect(b.get(request)).toBeNull();
  });

  it('adds nothing a request serialises or enumerates', () => {
    const memo = requestMemo<number>('hidden');
    const request = { url: '/odata/v1' };
    memo.set(request, 42);
    expect(Object.keys(request)).toEqual(['url']);
    expect(JSON.stringify(request)).toBe('{"url":"/odata/v1"}');
  });
});
