import { BadRequestException } from '@nestjs/common';
import { parseUsageRange, usageRangeOf } from './usage-range';
import { addDays, isIsoDate, msUntilNextUtcMidnight, utcDay } from './utc-day';

const NOW = Date.parse('2026-11-23T15:30:00Z');

function refusal(from: unknown, to: unknown): Record<string, unknown> {
  try {
    parseUsageRange(from, to, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).getResponse() as Record<string, unknown>;
  }
  throw new Error('parseUsageRange did not throw');
}

describe('UTC days', () => {
  it('names the right day when asked about days in any order (it remembers the last one)', () => {
    const times = [
      '2026-11-23T12:00:00Z',
      '2026-11-23T23:59:59.999Z',
      '2026-11-24T00:00:00Z',
      '2026-11-23T00:00:00Z',
      '1969-12-31T23:59:59Z',
      '1970-01-01T00:00:00Z',
      '1969-12-31T00:00:00Z',
    ];
    for (const time of [...times, ...times.reverse()]) {
      expect(utcDay(new Date(time))).toBe(time.slice(0, 10));
    }
  });

  it('names the UTC day, moves by days and counts to midnight', () => {
    expect(utcDay(Date.parse('2026-11-23T23:59:59.999Z'))).toBe('2026-11-23');
    expect(utcDay(Date.parse('2026-11-24T00:00:00Z'))).toBe('2026-11-24');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(msUntilNextUtcMidnight(Date.parse('2026-11-23T23:59:59Z'))).toBe(1000);
    expect(msUntilNextUtcMidnight(Date.parse('2026-11-23T00:00:00Z'))).toBe(86_400_000);
  });

  it.each([
    ['2026-11-23', true],
    ['2024-02-29', true],
    ['2026-02-29', false],
    ['2026-04-31', false],
    ['2026-13-01', false],
    ['2026-00-10', false],
    ['0000-01-01', false],
    ['2026-1-5', false],
    ['2026-11-23T00:00:00Z', false],
    [' 2026-11-23', false],
  ])('isIsoDate(%j) is %s', (value, expected) => {
    expect(isIsoDate(value)).toBe(expected);
  });
});

describe('parseUsageRange', () => {
  it('defaults to the last 30 days, today included', () => {
    expect(parseUsageRange(undefined, undefined, NOW)).toEqual({
      from: '2026-10-25',
      to: '2026-11-23',
    });
  });

  it('fills in the missing end', () => {
    expect(parseUsageRange('2026-11-01', undefined, NOW)).toEqual({
      from: '2026-11-01',
      to: '2026-11-23',
    });
    expect(parseUsageRange(undefined, '2026-03-01', NOW)).toEqual({
      from: '2026-01-31',
      to: '2026-03-01',
    });
  });

  it('starts the default range no earlier than 0001-01-01, the first day a date can name', () => {
    // 29 days before 0001-01-05 is in year 0, which PostgreSQL refuses (a 500 before).
    expect(parseUsageRange(undefined, '0001-01-05', NOW)).toEqual({
      from: '0001-01-01',
      to: '0001-01-05',
    });
    expect(parseUsageRange(undefined, '0001-01-01', NOW)).toEqual({
      from: '0001-01-01',
      to: '0001-01-01',
    });
    expect(parseUsageRange(undefined, '0001-01-30', NOW).from).toBe('0001-01-01');
    expect(parseUsageRange(undefined, '0001-01-31', NOW).from).toBe('0001-01-02');
  });

  it('takes a single day and future days', () => {
    expect(parseUsageRange('2026-11-23', '2026-11-23', NOW)).toEqual({
      from: '2026-11-23',
      to: '2026-11-23',
    });
    expect(parseUsageRange('2026-12-01', '2027-01-31', NOW).to).toBe('2027-01-31');
  });

  it.each([
    ['not a date', 'x', undefined, 'from'],
    ['an impossible date', '2026-02-30', undefined, 'from'],
    ['a repeated parameter', ['2026-01-01', '2026-01-02'], undefined, 'from'],
    ['an impossible end', undefined, '2026-11-31', 'to'],
    ['from after to', '2026-11-23', '2026-11-22', 'from'],
  ])('refuses %s with 400 InvalidQuery naming the parameter', (_, from, to, target) => {
    const body = refusal(from, to);
    expect(body).toMatchObject({ code: 'InvalidQuery', target });
    expect(body.message).toContain(target);
  });
});

describe('usageRangeOf', () => {
  it('reads from and to, and refuses any other parameter by name', () => {
    expect(usageRangeOf({ from: '2026-11-01', to: '2026-11-02' }, NOW)).toEqual({
      from: '2026-11-01',
      to: '2026-11-02',
    });
    expect(() => usageRangeOf({ to: '2026-11-02', limit: '5' }, NOW)).toThrow(
      expect.objectContaining({ response: expect.objectContaining({ target: 'limit' }) }),
    );
  });
});
