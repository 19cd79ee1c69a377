import { BadRequestException } from '@nestjs/common';
import { addDays, isIsoDate, utcDay } from './utc-day';

/** Without `from`, a report covers this many days up to `to` (today by default). */
export const DEFAULT_USAGE_DAYS = 30;

/** The first day `isIsoDate` takes; the default `from` stops there (PostgreSQL has no year 0). */
const FIRST_DAY = '0001-01-01';

/**
 * The inclusive day range of `GET /admin/api-users/{id}/usage?from=&to=`: `YYYY-MM-DD`
 * (UTC days), `to` defaulting to today and `from` to 29 days before `to` (not before 0001-01-01).
 * @throws BadRequestException naming the offending parameter.
 */
export function parseUsageRange(
  from: unknown,
  to: unknown,
  now: number = Date.now(),
): { from: string; to: string } {
  const end = to === undefined ? utcDay(now) : checkDay('to', to);
  const start = from === undefined ? defaultFrom(end) : checkDay('from', from);
  if (start > end) throw invalid('from', 'from must not be after to');
  return { from: start, to: end };
}

/**
 * The range a usage request's query string asks for; any parameter but `from` and `to` is
 * refused, as the audit's unknown parameters are (it was ignored with a 200).
 */
export function usageRangeOf(
  query: Record<string, unknown>,
  now: number = Date.now(),
): { from: string; to: string } {
  const unknown = Object.keys(query).find((name) => name !== 'from' && name !== 'to');
  if (unknown !== undefined) {
    throw invalid(unknown, `${unknown.slice(0, 100)} is not a known parameter (from, to)`);
  }
  return parseUsageRange(query.from, query.to, now);
}

/** 29 days before `to`, or the first day when that is earlier (days compare as strings). */
function defaultFrom(to: string): string {
  const start = addDays(to, -(DEFAULT_USAGE_DAYS - 1));
  return start < FIRST_DAY ? FIRST_DAY : start;
}

function checkDay(name: string, value: unknown): string {
  if (typeof value !== 'string' || !isIsoDate(value)) {
    throw invalid(name, `${name} must be a date YYYY-MM-DD`);
  }
  return value;
}

function invalid(target: string, message: string): BadRequestException {
  return new BadRequestException({
    code: 'InvalidQuery',
    message,
    target,
    details: [{ code: 'InvalidValue', target, message }],
  });
}
