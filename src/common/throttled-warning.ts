import type { LoggerService } from '@nestjs/common';

/**
 * A warning about a condition that lasts (Redis or the database away) and would otherwise be
 * logged for every request it affects: logged at most once per interval, saying how many like
 * it were left out since the last one. The message is built only when it is logged.
 */
export class ThrottledWarning {
  private lastAt = -Infinity;
  private leftOut = 0;

  constructor(
    private readonly logger: Pick<LoggerService, 'warn'>,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  warn(message: () => string): void {
    const now = this.now();
    if (now - this.lastAt < this.intervalMs) {
      this.leftOut += 1;
      return;
    }
    const leftOut = this.leftOut;
    this.lastAt = now;
    this.leftOut = 0;
    this.logger.warn(
      leftOut > 0 ? `${message()} (${leftOut} more like it since the last one)` : message(),
    );
  }
}
