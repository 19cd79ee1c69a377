import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EffectiveLimits, effectiveLimits } from '../api-users/limits';
import { routeAuth } from '../auth/route-auth';
import { ThrottledWarning } from '../common/throttled-warning';
import { AppConfig } from '../config/app-config';
import { UsageService } from '../usage/usage.service';
import { msUntilNextUtcMidnight, utcDay } from '../usage/utc-day';
import { RateLimitCounters } from './rate-limit-counters';
import { Policy, PolicyOutcome, rateLimitField, rateLimitPolicyField } from './rate-limit-headers';

const SECONDS_PER_DAY = 86_400;
/** A counter failure is logged at most this often (ms). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

interface ActivePolicy extends Policy {
  /**
   * The counter's key: per user and window length (a window changed by an admin starts a new
   * counter: a window of 3600 s shortened to 5 s refused for the rest of the hour, while the
   * answer said 5 s; found by review); the quota's names its UTC day.
   */
  key: string;
  /** The window a first request opens: the rate window, or the time to the next 00:00 UTC. */
  openSeconds: number;
}

/**
 * Per-API-user rate limits and daily quotas. A global guard registered after `ApiKeyGuard`, so
 * it only sees authenticated, authorised requests, and counts per user, not per address.
 *
 * - `rate`: `requests` per `windowSeconds`, a fixed window opened by its first request.
 * - `quota`: requests per UTC calendar day; the window ends at the next 00:00 UTC.
 *
 * The rate is checked first, so a request it refuses uses up none of the day's quota. Every
 * answer to a limited user carries `RateLimit-Policy` and `RateLimit`; a refusal is a 429 with
 * `Retry-After`. Admitted requests are counted for billing (`UsageService`). `@Public()` routes
 * and the admin API (routes that need the `admin` role) are neither limited nor counted, so an
 * admin can always change limits.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly counterFailure = new ThrottledWarning(
    new Logger('RateLimitGuard'),
    FAILURE_LOG_INTERVAL_MS,
  );

  constructor(
    private readonly reflector: Reflector,
    private readonly counters: RateLimitCounters,
    private readonly usage: UsageService,
    private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const user = request.user;
    // No user: a @Public() route (every other route has passed ApiKeyGuard by now).
    if (!user || this.isAdminApi(context)) return true;

    const now = Date.now();
    const policies = activePolicies(effectiveLimits(user.limits, this.config), user.id, now);
    // Most users have no limits: nothing to count, so no promise (Nest awaits only a guard's).
    if (policies.length === 0) {
      this.usage.record(user.id, now);
      return true;
    }
    return this.enforce(context.switchToHttp().getResponse<FastifyReply>(), user.id, policies, now);
  }

  private async enforce(
    reply: FastifyReply,
    userId: string,
    policies: readonly ActivePolicy[],
    now: number,
  ): Promise<boolean> {
    const outcomes: PolicyOutcome[] = [];
    for (const policy of policies) {
      const counted = await this.count(policy);
      if (!counted) continue;
      const refused = counted.hits > policy.limit;
      const resetSeconds = Math.max(1, Math.ceil(counted.msLeft / 1000));
      outcomes.push({
        name: policy.name,
        remaining: Math.max(0, policy.limit - counted.hits),
        resetSeconds,
      });
      if (refused) {
        setRateLimitFields(reply, policies, outcomes);
        reply.header('Retry-After', String(resetSeconds));
        throw tooManyRequests(policy, resetSeconds);
      }
    }
    setRateLimitFields(reply, policies, outcomes);
    this.usage.record(userId, now);
    return true;
  }

  private async count(policy: ActivePolicy) {
    try {
      return await this.counters.hit(policy.name, policy.key, policy.openSeconds);
    } catch (error) {
      // Not expected (with Redis away the counters fall back to memory): let the request in.
      this.counterFailure.warn(
        () => `Rate-limit counters failed; requests are let through: ${String(error)}`,
      );
      return undefined;
    }
  }

  /** Routes that need the `admin` role: API management. */
  private isAdminApi(context: ExecutionContext): boolean {
    return routeAuth(this.reflector, context).requiredRoles?.includes('admin') ?? false;
  }
}

function activePolicies(limits: EffectiveLimits, userId: string, now: number): ActivePolicy[] {
  const policies: ActivePolicy[] = [];
  if (limits.rate) {
    policies.push({
      name: 'rate',
      limit: limits.rate.requests,
      windowSeconds: limits.rate.windowSeconds,
      key: `${userId}:${limits.rate.windowSeconds}`,
      openSeconds: limits.rate.windowSeconds,
    });
  }
  if (limits.dailyQuota !== null) {
    policies.push({
      name: 'quota',
      limit: limits.dailyQuota,
      windowSeconds: SECONDS_PER_DAY,
      key: `${userId}:${utcDay(now)}`,
      openSeconds: Math.ceil(msUntilNextUtcMidnight(now) / 1000),
    });
  }
  return policies;
}

function setRateLimitFields(
  reply: FastifyReply,
  policies: readonly Policy[],
  outcomes: readonly PolicyOutcome[],
): void {
  reply.header('RateLimit-Policy', rateLimitPolicyField(policies));
  if (outcomes.length > 0) reply.header('RateLimit', rateLimitField(outcomes));
}

function tooManyRequests(policy: Policy, retryAfter: number): HttpException {
  const wait = `${retryAfter} second${retryAfter === 1 ? '' : 's'}`;
  return new HttpException(
    policy.name === 'quota'
      ? {
          code: 'QuotaExceeded',
          message: `The daily quota of ${policy.limit} requests is used up; it renews at 00:00 UTC, in ${wait}.`,
        }
      : {
          code: 'RateLimitExceeded',
          message: `Rate limit exceeded: at most ${policy.limit} requests per ${policy.windowSeconds} seconds; retry in ${wait}.`,
        },
    HttpStatus.TOO_MANY_REQUESTS,
  );
}
