const DAY_MS = 86_400_000;

/** The last day `utcDay` worked out: every request asks for it (usage, quotas). */
let memo = { start: 0, end: 0, day: '' };

/** The UTC calendar day of `at`, as `YYYY-MM-DD`. */
export function utcDay(at: Date | number): string {
  const ms = typeof at === 'number' ? at : at.getTime();
  if (ms >= memo.start && ms < memo.end) return memo.day;
  const day = new Date(ms).toISOString().slice(0, 10);
  const start = Math.floor(ms / DAY_MS) * DAY_MS;
  memo = { start, end: start + DAY_MS, day };
  return day;
}

/** Milliseconds from `now` to the next 00:00 UTC (1 to 86 400 000). */
export function msUntilNextUtcMidnight(now: number): number {
  return DAY_MS - (now % DAY_MS);
}

/** `day` (`YYYY-MM-DD`) moved by `days` calendar days. */
export function addDays(day: string, days: number): string {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for an existing calendar date written `YYYY-MM-DD` (years 0001-9999). */
export function isIsoDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const [, y, m, d] = match.map(Number);
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
